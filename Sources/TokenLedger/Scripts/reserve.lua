-- reserve.lua: admits a lease of N tokens costing C nano-USD only if used + reserved + N <= limit and
-- spent + reserved cost + C <= currency limit (the cycle's `cost_nano` is what was spent). Idempotent per
-- call id. Fires the currency soft thresholds on the recorded spend (usd_thresholds) when it decides.
-- Then the rate limits (docs/quota.md, "Rate limits"): when a tpm or rpm limit applies, admits only if the
-- window's tokens + N <= tpm and its requests + 1 <= rpm, and charges N (one request) to the window.
-- KEYS: 1 profile, 2 cycle, 3 the call's fingerprint bucket (calls:<D>:<bucket>), 4 leases, 5 lease-expiry,
--       6 reserved, 7 lease-usd, 8 reserved-usd, 9 events, 10 lease-scopes (call id -> 'team\norg\ncycle': the
--       groups a user's lease was taken in, and the cycle name), 11 rate, 12 rate-tokens, 13… carried cycles (as check.lua)
-- ARGV: 1 assumed policy, 2 call id, 3 tokens, 4 ttl ms, 5 default limit, 6 cost (nano-USD),
--       7 default currency limit (nano-USD; -1 = none), 8 thresholds, 9 user id, 10 cycle name,
--       11 '1' for a user's lease (its team and org are read from the profile, stored with an admitted
--       lease and returned), '0' for a group's (a team's or an org's keys), 12 the call's 12-byte
--       fingerprint field (CallFingerprint.swift), 13 default tpm, 14 default rpm (-1 or absent = none; the
--       caller leaves both out when neither applies)
-- Returns {'policy', stored} | {status, used, reserved, limit (-1 = unlimited), spent, reserved cost,
-- currency limit (-1 = none), the limit that denied ('tokens', 'usd', 'tpm', 'rpm' or ''), team, org,
-- retry after ms (a rate denial: when it would fit, -1 never; 0 otherwise), tpm, rpm (-1 = none), the
-- window's tokens and requests (after this reservation when admitted; 0 without a rate limit)} where team and
-- org are the user's ('' = none; for 'held', those the lease was taken in) and status is
-- 'admitted', 'held' (this call id already holds a live lease of the same amounts), 'settled' (already
-- recorded) or 'denied' | {'conflict', used, reserved, limit, held tokens, held nano-USD} (the call id
-- holds a live lease of other amounts: a retry must ask for the same; nothing changed).
local mismatch, limit, _, limit_usd, profile_team, profile_org, tpm, rpm = profile_check(KEYS[1], ARGV[1], ARGV[5],
  ARGV[7], ARGV[13], ARGV[14])
if mismatch then return {'policy', mismatch} end
local call_id, tokens, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if tokens == nil or tokens < 0 or tokens > 1000000000000 or tokens ~= math.floor(tokens) then
  return redis.error_reply('BADINPUT tokens must be an integer from 0 to 10^12')
end
if ttl == nil or ttl <= 0 then return redis.error_reply('BADINPUT ttl must be positive') end
local cost = nano_argument(ARGV[6] or '0', 'cost')
local field = fingerprint_arg(ARGV[12])  -- validated before the first write
local now = now_ms()
local for_user = ARGV[11] == '1'
-- The scopes of the leases reclaim_expired drops go with them (after its checks: a BADSTATE it
-- raises leaves every lease and its scopes as they were).
local reserved, reserved_cost = reclaim_expired(KEYS[6], KEYS[4], KEYS[5], now, KEYS[7], KEYS[8],
  for_user and KEYS[10] or nil)
local used, spent = cycle_spend(KEYS[2])
for i = 13, #KEYS do
  local u, s = cycle_spend(KEYS[i])
  used, spent = used + u, spent + s
end
local team, org = '', ''
if for_user then team, org = profile_team or '', profile_org or '' end
local rate_sum, rate_count, retry = 0, 0, 0
if tpm or rpm then rate_sum, rate_count = rate_trim(KEYS[11], KEYS[12], now) end
local function reply(status, denied_by)
  return {status, used, reserved, limit or -1, spent, reserved_cost, limit_usd or -1, denied_by or '', team, org,
    retry, tpm or -1, rpm or -1, rate_sum, rate_count}
end
if redis.call('HEXISTS', KEYS[3], field) == 1 then return reply('settled') end
local held = redis.call('HGET', KEYS[4], call_id)
if held then
  local held_cost = redis.call('HGET', KEYS[7], call_id) or '0'
  if tonumber(held) ~= tokens or tonumber(held_cost) ~= cost then
    return {'conflict', used, reserved, limit or -1, held, held_cost}
  end
  if for_user then
    team, org = scope_entry(redis.call('HGET', KEYS[10], call_id) or '')
  end
  return reply('held')
end
usd_thresholds(KEYS[2], KEYS[9], ARGV[9], ARGV[10], ARGV[8], spent, limit_usd)
if limit ~= nil and used + reserved + tokens > limit then return reply('denied', 'tokens') end
if limit_usd ~= nil and spent + reserved_cost + cost > limit_usd then return reply('denied', 'usd') end
if reserved + tokens > MAX_COUNTER then return redis.error_reply('OVERFLOW the reserved tokens would pass 2^53 - 1') end
if reserved_cost + cost > MAX_COUNTER then return redis.error_reply('OVERFLOW the reserved cost would pass 2^53 - 1 nano-USD') end
if tpm or rpm then
  -- The call's own entry (a lease that expired, reserved again) is replaced, not added to: it is
  -- left out of the window the request is judged against.
  local own = redis.call('HGET', KEYS[12], call_id)
  local own_tokens = own and stored(own, KEYS[12], call_id) or 0
  local rate_kind, wait = rate_denial(KEYS[11], KEYS[12], now, rate_sum - own_tokens,
    rate_count - (own and 1 or 0), tokens, tpm, rpm)
  if rate_kind then
    retry = wait
    return reply('denied', rate_kind)
  end
  rate_sum = rate_charge(KEYS[11], KEYS[12], call_id, tokens, now, rate_sum)
  if not own then rate_count = rate_count + 1 end
end
redis.call('HSET', KEYS[4], call_id, tokens)
redis.call('ZADD', KEYS[5], now + ttl, call_id)
reserved = tonumber(redis.call('INCRBY', KEYS[6], tokens))
if cost > 0 then
  redis.call('HSET', KEYS[7], call_id, decimal(cost))
  reserved_cost = tonumber(redis.call('INCRBY', KEYS[8], cost))
end
if team ~= '' or org ~= '' then redis.call('HSET', KEYS[10], call_id, team .. '\n' .. org .. '\n' .. ARGV[10]) end
return reply('admitted')
