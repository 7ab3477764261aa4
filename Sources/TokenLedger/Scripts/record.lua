-- record.lua: records one call's usage, once per (user, cycle, call id).
-- KEYS: 1 profile, 2 cycle, 3 calls, 4 events
-- ARGV: 1 assumed policy, 2-9 usage (see parse_usage), 10 default limit, 11 thresholds,
--       12 user id, 13 cycle name
-- Returns {'policy', stored} | {'applied' or 'duplicate', cycle total, cycle calls}
local mismatch = policy_mismatch(KEYS[1], ARGV[1])
if mismatch then return {'policy', mismatch} end
local u = parse_usage(ARGV, 2)
local applied = apply_usage(KEYS[2], KEYS[3], u)
if applied then
  fire_thresholds(KEYS[1], KEYS[2], KEYS[4], effective_limit(KEYS[1], ARGV[10]), ARGV[11], ARGV[12], ARGV[13])
end
return {
  applied and 'applied' or 'duplicate',
  tonumber(redis.call('HGET', KEYS[2], 'total_tokens') or '0'),
  tonumber(redis.call('HGET', KEYS[2], 'calls') or '0'),
}
