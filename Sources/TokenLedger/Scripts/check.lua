-- check.lua: read-only quota decision for N more tokens (expired leases are not counted).
-- KEYS: 1 profile, 2 cycle, 3 leases, 4 lease-expiry, 5 reserved, 6… cycles of previous policies that
--       still count against the limit (a policy change's carry; the caller reads them from the policy)
-- ARGV: 1 assumed policy, 2 tokens, 3 default limit
-- Returns {'policy', stored} | {allowed 0/1, used, reserved, limit (-1 = unlimited)}
local mismatch, limit = profile_check(KEYS[1], ARGV[1], ARGV[3])
if mismatch then return {'policy', mismatch} end
local tokens = tonumber(ARGV[2]) or 0
local reserved = live_reserved(KEYS[5], KEYS[3], KEYS[4], now_ms())
local used = cycle_used(KEYS[2])
for i = 6, #KEYS do used = used + cycle_used(KEYS[i]) end
local allowed = 1
if limit ~= nil and used + reserved + tokens > limit then allowed = 0 end
return {allowed, used, reserved, limit or -1}
