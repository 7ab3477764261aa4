-- late_done.lua: forgets pending adjustments of a closed cycle once the {global} history holds them.
-- KEYS: 1 late (call id -> adjustment JSON)
-- ARGV: call ids
-- Returns the number of adjustments still pending.
redis.call('HDEL', KEYS[1], unpack(ARGV))
return redis.call('HLEN', KEYS[1])
