-- index.lua: adds users to the derived cross-user index of a cycle (rebuildable from per-user keys).
-- KEYS: 1 index of the cycle (set of user ids), 2 set of indexed cycle names
-- ARGV: 1 cycle name, then user ids
-- Returns the number of users newly added.
redis.call('SADD', KEYS[2], ARGV[1])
local added = 0
for i = 2, #ARGV do
  added = added + redis.call('SADD', KEYS[1], ARGV[i])
end
return added
