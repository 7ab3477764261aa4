-- release.lua: drops a call's lease (its tokens and its nano-USD) without recording usage (the call
-- failed or was cancelled).
-- KEYS: 1 reserved, 2 leases, 3 lease-expiry, 4 lease-usd, 5 reserved-usd
-- ARGV: 1 call id
-- Returns {released tokens, reserved after, released nano-USD, reserved nano-USD after}
local reserved, reserved_cost = reclaim_expired(KEYS[1], KEYS[2], KEYS[3], now_ms(), KEYS[4], KEYS[5])
local tokens, cost = lease_tokens(KEYS[1], KEYS[2], ARGV[1], reserved, KEYS[4], KEYS[5], reserved_cost)
local released, after, released_cost, cost_after = drop_lease(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tokens, reserved,
  KEYS[4], KEYS[5], cost, reserved_cost)
return {released, after, released_cost, cost_after}
