-- settle.lua: replaces a call's lease with its actual usage, exactly once. With no live lease
-- the usage is still recorded (the call happened).
-- KEYS: 1 profile, 2 cycle, 3 calls, 4 events, 5 leases, 6 lease-expiry, 7 reserved
-- ARGV: as record.lua
-- Returns {'policy', stored} | {'applied' or 'duplicate', cycle used tokens, cycle calls, released tokens}
local mismatch, limit = profile_check(KEYS[1], ARGV[1], ARGV[10])
if mismatch then return {'policy', mismatch} end
local u = parse_usage(ARGV, 2)
reclaim_expired(KEYS[7], KEYS[5], KEYS[6], now_ms())
local applied, used, count = apply_usage(KEYS[2], KEYS[3], u, limit, ARGV[11], KEYS[4], ARGV[12], ARGV[13])
local released = drop_lease(KEYS[7], KEYS[5], KEYS[6], u.call_id)
return {applied and 'applied' or 'duplicate', used, count, released}
