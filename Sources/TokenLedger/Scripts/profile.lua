-- profile.lua: sets or clears fields of a user's (or a group's) profile (limit, policy, tpm and rpm),
-- all in this one script: a reader sees every change of one call or none.
-- KEYS: 1 profile
-- ARGV: 1 field ('limit', 'policy', 'tpm', …), 2 value ('' clears), then more field/value pairs
-- Returns the previous value of the first field or false
local previous = redis.call('HGET', KEYS[1], ARGV[1])
for i = 1, #ARGV - 1, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return previous
