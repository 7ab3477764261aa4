-- profile.lua: sets or clears one field of a user's profile (limit, policy).
-- KEYS: 1 profile
-- ARGV: 1 field ('limit' or 'policy'), 2 value ('' clears)
-- Returns the previous value or false
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return previous
