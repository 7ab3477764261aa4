-- release.lua: drops a call's lease without recording usage (the call failed or was cancelled).
-- KEYS: 1 reserved, 2 leases, 3 lease-expiry
-- ARGV: 1 call id
-- Returns {released tokens, reserved after}
local reserved = reclaim_expired(KEYS[1], KEYS[2], KEYS[3], now_ms())
local tokens = lease_tokens(KEYS[1], KEYS[2], ARGV[1], reserved)
local released, after = drop_lease(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tokens, reserved)
return {released, after}
