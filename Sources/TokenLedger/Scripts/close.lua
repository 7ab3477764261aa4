-- close.lua: rollover's snapshot of one user's ended cycle, taken atomically with the mark that
-- closes it (field `history:state` = 'closed'): every call is either in this snapshot or, applied
-- after it, a pending adjustment in `late` (see late_adjustment in common.lua).
-- KEYS: 1 profile, 2 cycle, 3 leases, 4 lease-expiry, 5 reserved, 6 late
-- ARGV: 1 default limit, 2 '1' to mark the cycle closed ('0': a dry run, read only)
-- Returns {'ok', limit (-1 = unlimited), reserved, {cycle field, value, ...}, stored policy,
-- {late call id, adjustment JSON, ...}} (usage.lua's reply and the pending adjustments)
local _, limit = profile_check(KEYS[1], '*', ARGV[1])
if ARGV[2] == '1' then redis.call('HSET', KEYS[2], 'history:state', 'closed') end
return {
  'ok', limit or -1, live_reserved(KEYS[5], KEYS[3], KEYS[4], now_ms()), redis.call('HGETALL', KEYS[2]),
  redis.call('HGET', KEYS[1], 'policy') or '', redis.call('HGETALL', KEYS[6]),
}
