-- calls_drop.lua: folds one closed cycle into its history summary once its dedupe window has passed
-- (rollover decides when, after checking the summary is in the history): deletes the call
-- fingerprints and the whole cycle hash, and records the cycle in the profile's `folded` field (the
-- latest folded cycle of the scope), so the fold costs no key of its own: a later record or settle
-- of a cycle at or before it whose hash is gone is parked instead of counted twice (is_folded in
-- common.lua; one an administrator applies anyway is a late call that amends the summary).
-- Readers take a folded cycle's counters from its summary. The user's `lease-scopes` entries written in
-- the cycle or before it whose call holds no lease go too (sweep_scope_entries in common.lua: left by a
-- process that died before booking the call's groups; a retry of such a call is parked from now on).
-- KEYS: 1 cycle:D, 2 late:D, 3 profile, 4 lease-scopes, 5 leases, 6 calls:D (schema version 1's call ids,
--       if any are left), 7… the cycle's call fingerprint buckets calls:D:<bucket>
-- ARGV: 1 the cycle name D
-- Returns the number of keys deleted besides the cycle hash, -1 when late calls are still pending
-- (not in the history yet) or -2 when the cycle is not closed (nothing changed either way).
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local state = redis.call('HGET', KEYS[1], 'history:state')
if state ~= 'closed' and state ~= 'folded' then return -2 end
local doomed = {}
for i = 6, #KEYS do doomed[#doomed + 1] = KEYS[i] end
local deleted = redis.call('DEL', unpack(doomed))
sweep_scope_entries(KEYS[4], KEYS[5], ARGV[1])
redis.call('DEL', KEYS[1])
local through = redis.call('HGET', KEYS[3], 'folded')
if not through or through < ARGV[1] then redis.call('HSET', KEYS[3], 'folded', ARGV[1]) end
return deleted
