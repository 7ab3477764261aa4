-- release.lua: drops a call's lease (its tokens and its nano-USD) without recording usage (the call
-- failed or was cancelled).
-- KEYS: 1 reserved, 2 leases, 3 lease-expiry, 4 lease-usd, 5 reserved-usd, 6 lease-scopes (a user's
--       release: the groups the lease was taken in are returned and forgotten; a group has none), 7 rate,
--       8 rate-tokens (a live lease's charge to the rate window is returned; optional)
-- ARGV: 1 call id
-- Returns {released tokens, reserved after, released nano-USD, reserved nano-USD after,
-- the lease's groups ('team\norg', '' = none recorded)}
local reserved, reserved_cost = reclaim_expired(KEYS[1], KEYS[2], KEYS[3], now_ms(), KEYS[4], KEYS[5], KEYS[6])
local tokens, cost = lease_tokens(KEYS[1], KEYS[2], ARGV[1], reserved, KEYS[4], KEYS[5], reserved_cost)
-- Only a live lease's charge is returned: a call settled or recorded happened (its charge stays), and
-- an expired lease keeps its charge until it leaves the window. Returned before the lease is dropped,
-- so a damaged window (BADSTATE) leaves the lease as it was.
if KEYS[8] and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then rate_return(KEYS[7], KEYS[8], ARGV[1], now_ms()) end
local released, after, released_cost, cost_after = drop_lease(KEYS[1], KEYS[2], KEYS[3], ARGV[1], tokens, reserved,
  KEYS[4], KEYS[5], cost, reserved_cost)
local groups = ''
if KEYS[6] then
  groups = redis.call('HGET', KEYS[6], ARGV[1]) or ''
  if groups ~= '' then redis.call('HDEL', KEYS[6], ARGV[1]) end
end
return {released, after, released_cost, cost_after, groups}
