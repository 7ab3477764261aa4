-- config.lua: sets or clears fields of the namespace's global settings (default limit, default
-- policy, default tpm and rpm), all in this one script, and makes sure the schema version is recorded.
-- KEYS: 1 config, 2 schema version
-- ARGV: 1 field, 2 value ('' clears), 3 schema version, then more field/value pairs
-- Returns the previous value of the first field or false
redis.call('SET', KEYS[2], ARGV[3], 'NX')
local previous = redis.call('HGET', KEYS[1], ARGV[1])
local function change(field, value)
  if value == '' then
    redis.call('HDEL', KEYS[1], field)
  else
    redis.call('HSET', KEYS[1], field, value)
  end
end
change(ARGV[1], ARGV[2])
for i = 4, #ARGV - 1, 2 do change(ARGV[i], ARGV[i + 1]) end
return previous
