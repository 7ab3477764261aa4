-- rollover_state.lua: records what the last rollover run did (for doctor and operators).
-- KEYS: 1 rollover state hash
-- ARGV: field, value pairs
-- Returns the number of fields written.
for i = 1, #ARGV - 1, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return math.floor(#ARGV / 2)
