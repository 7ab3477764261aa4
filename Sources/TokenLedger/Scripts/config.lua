-- config.lua: sets or clears one field of the namespace's global settings (default limit,
-- default policy) and makes sure the schema version is recorded.
-- KEYS: 1 config, 2 schema version
-- ARGV: 1 field, 2 value ('' clears), 3 schema version
redis.call('SET', KEYS[2], ARGV[3], 'NX')
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return previous
