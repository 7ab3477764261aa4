-- record.lua: records one call's usage, once per (user, cycle, call id).
-- KEYS: 1 profile, 2 cycle, 3 calls, 4 events
-- ARGV: 1 assumed policy, 2-9 usage (see parse_usage), 10 default limit, 11 thresholds,
--       12 user id, 13 cycle name
-- Returns {'policy', stored} | {'applied' or 'duplicate', cycle used tokens, cycle calls}
local mismatch, limit = profile_check(KEYS[1], ARGV[1], ARGV[10])
if mismatch then return {'policy', mismatch} end
local u = parse_usage(ARGV, 2)
local applied, used, count = apply_usage(KEYS[2], KEYS[3], u, limit, ARGV[11], KEYS[4], ARGV[12], ARGV[13])
return {applied and 'applied' or 'duplicate', used, count}
