-- usage.lua: read-only snapshot of one user's cycle: its counters, limit, live reservations, policy.
-- KEYS: 1 profile, 2 cycle, 3 leases, 4 lease-expiry, 5 reserved
-- ARGV: 1 assumed policy, 2 default limit
-- Returns {'policy', stored} | {'ok', limit (-1 = unlimited), reserved, {field, value, ...}, stored policy}
local mismatch, limit = profile_check(KEYS[1], ARGV[1], ARGV[2])
if mismatch then return {'policy', mismatch} end
return {
  'ok', limit or -1, live_reserved(KEYS[5], KEYS[3], KEYS[4], now_ms()), redis.call('HGETALL', KEYS[2]),
  redis.call('HGET', KEYS[1], 'policy') or '',
}
