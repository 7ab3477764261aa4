-- record.lua: records one call's usage, once per (user, cycle, call id).
-- KEYS: 1 profile, 2 cycle, 3 calls, 4 events
-- ARGV: 1 assumed policy, 2 call id, 3-7 counts (see usage_counts), 8 model, 9 default limit,
--       10 thresholds, 11 user id, 12 cycle name
-- Returns {'policy', stored} | {'applied' or 'duplicate', cycle used tokens, cycle calls}
local mismatch, limit = profile_check(KEYS[1], ARGV[1], ARGV[9])
if mismatch then return {'policy', mismatch} end
local input, output, cached, cache_write, reasoning = usage_counts(ARGV, 3)
local applied, used, count = apply_usage(KEYS[2], KEYS[3], ARGV[2], ARGV[8], input, output, cached, cache_write,
  reasoning, limit, ARGV[10], KEYS[4], ARGV[11], ARGV[12])
return {applied and 'applied' or 'duplicate', used, count}
