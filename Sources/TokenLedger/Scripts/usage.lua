-- usage.lua: read-only snapshot of one user's cycle: its counters, limits, live reservations, policy.
-- KEYS: 1 profile, 2 cycle, 3 leases, 4 lease-expiry, 5 reserved, 6 lease-usd, 7 reserved-usd
-- ARGV: 1 assumed policy, 2 default limit, 3 default currency limit (nano-USD; absent or -1 = none),
--       4 the cycle name (absent: only a `history:state` = 'folded' mark says folded)
-- Returns {'policy', stored} | {'ok', limit (-1 = unlimited), reserved, {field, value, ...}, stored policy,
-- currency limit (nano-USD, -1 = none), reserved nano-USD, folded (1: rollover folded the cycle into its
-- history summary, see is_folded; 0 otherwise)}
local mismatch, limit, _, limit_usd, _, _, _, _, folded_through = profile_check(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
if mismatch then return {'policy', mismatch} end
local reserved, reserved_cost = live_reserved(KEYS[5], KEYS[3], KEYS[4], now_ms(), KEYS[6], KEYS[7])
local marks = redis.call('HMGET', KEYS[2], 'history:state', 'calls', 'calls:dropped')
return {
  'ok', limit or -1, reserved, redis.call('HGETALL', KEYS[2]),
  redis.call('HGET', KEYS[1], 'policy') or '', limit_usd or -1, reserved_cost,
  is_folded(marks[1], marks[2], marks[3], ARGV[4], folded_through) and 1 or 0,
}
