-- cycle_drop.lua: forgets a cycle past the retention period in the derived cross-user index
-- (its history stays).
-- KEYS: 1 index:D, 2 set of indexed cycle names
-- ARGV: 1 cycle name
-- Returns the number of keys changed.
return redis.call('DEL', KEYS[1]) + redis.call('SREM', KEYS[2], ARGV[1])
