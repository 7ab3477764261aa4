-- reserve.lua: admits a lease of N tokens only if used + reserved + N <= limit. Idempotent per call id.
-- KEYS: 1 profile, 2 cycle, 3 calls, 4 leases, 5 lease-expiry, 6 reserved, 7… carried cycles (as check.lua)
-- ARGV: 1 assumed policy, 2 call id, 3 tokens, 4 ttl ms, 5 default limit
-- Returns {'policy', stored} | {status, used, reserved, limit (-1 = unlimited)} where status is
-- 'admitted', 'held' (this call id already holds a live lease of the same amount), 'settled' (already
-- recorded) or 'denied' | {'conflict', used, reserved, limit, held amount} (the call id holds a live
-- lease of another amount: a retry must ask for the same amount; nothing changed).
local mismatch, limit = profile_check(KEYS[1], ARGV[1], ARGV[5])
if mismatch then return {'policy', mismatch} end
local call_id, tokens, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if tokens == nil or tokens < 0 or tokens > 1000000000000 or tokens ~= math.floor(tokens) then
  return redis.error_reply('BADINPUT tokens must be an integer from 0 to 10^12')
end
if ttl == nil or ttl <= 0 then return redis.error_reply('BADINPUT ttl must be positive') end
local now = now_ms()
local reserved = reclaim_expired(KEYS[6], KEYS[4], KEYS[5], now)
local used = cycle_used(KEYS[2])
for i = 7, #KEYS do used = used + cycle_used(KEYS[i]) end
local shown_limit = limit or -1
if redis.call('HEXISTS', KEYS[3], call_id) == 1 then return {'settled', used, reserved, shown_limit} end
local held = redis.call('HGET', KEYS[4], call_id)
if held then
  if tonumber(held) ~= tokens then return {'conflict', used, reserved, shown_limit, held} end
  return {'held', used, reserved, shown_limit}
end
if limit ~= nil and used + reserved + tokens > limit then return {'denied', used, reserved, shown_limit} end
redis.call('HSET', KEYS[4], call_id, tokens)
redis.call('ZADD', KEYS[5], now + ttl, call_id)
reserved = tonumber(redis.call('INCRBY', KEYS[6], tokens))
return {'admitted', used, reserved, shown_limit}
