-- check.lua: read-only quota decision for N more tokens costing C more nano-USD (expired leases are not
-- counted): allowed only when used + reserved + N <= limit and spent + reserved cost + C <= currency limit.
-- Then, as reserve.lua, the rate limits (without charging anything): window tokens + N <= tpm, requests + 1 <= rpm.
-- KEYS: 1 profile, 2 cycle, 3 leases, 4 lease-expiry, 5 reserved, 6 lease-usd, 7 reserved-usd, 8 rate,
--       9 rate-tokens, 10… cycles of
--       previous policies that still count against the limits (a policy change's carry; the caller reads
--       them from the policy)
-- ARGV: 1 assumed policy, 2 tokens, 3 default limit, 4 cost (nano-USD; absent = 0), 5 default currency
--       limit (nano-USD; absent or -1 = none), 6 default tpm, 7 default rpm (-1 or absent = none)
-- Returns {'policy', stored} | {allowed 0/1, used, reserved, limit (-1 = unlimited), spent (nano-USD),
-- reserved cost (nano-USD), currency limit (-1 = none), the limit that denied ('tokens', 'usd', 'tpm', 'rpm'
-- or ''), '', '', then the rate fields of reserve.lua (retry after ms, tpm, rpm, window tokens and requests)}
local mismatch, limit, _, limit_usd, _, _, tpm, rpm = profile_check(KEYS[1], ARGV[1], ARGV[3], ARGV[5], ARGV[6], ARGV[7])
if mismatch then return {'policy', mismatch} end
local tokens = tonumber(ARGV[2]) or 0
local cost = nano_argument(ARGV[4] or '0', 'cost')
local now = now_ms()
local reserved, reserved_cost = live_reserved(KEYS[5], KEYS[3], KEYS[4], now, KEYS[6], KEYS[7])
local used, spent = cycle_spend(KEYS[2])
for i = 10, #KEYS do
  local u, s = cycle_spend(KEYS[i])
  used, spent = used + u, spent + s
end
local allowed, denied_by = 1, ''
if limit ~= nil and used + reserved + tokens > limit then
  allowed, denied_by = 0, 'tokens'
elseif limit_usd ~= nil and spent + reserved_cost + cost > limit_usd then
  allowed, denied_by = 0, 'usd'
end
local rate_sum, rate_count, retry = 0, 0, 0
if tpm or rpm then
  rate_sum, rate_count = rate_live(KEYS[8], KEYS[9], now)
  if allowed == 1 then
    local rate_kind, wait = rate_denial(KEYS[8], KEYS[9], now, rate_sum, rate_count, tokens, tpm, rpm)
    if rate_kind then allowed, denied_by, retry = 0, rate_kind, wait end
  end
end
return {allowed, used, reserved, limit or -1, spent, reserved_cost, limit_usd or -1, denied_by, '', '', retry,
  tpm or -1, rpm or -1, rate_sum, rate_count}
