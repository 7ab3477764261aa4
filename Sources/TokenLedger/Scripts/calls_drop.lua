-- calls_drop.lua: drops the call fingerprints of one user's closed cycle once its dedupe window has
-- passed (rollover decides when), keeping the counters, and marks the cycle hash (`calls:dropped` =
-- server ms), so a later record or settle of the cycle is parked instead of counted twice.
-- KEYS: 1 cycle:D, 2 late:D, 3 calls:D (schema version 1's call ids, if any are left), 4… the cycle's
--       call fingerprint buckets calls:D:<bucket>
-- Returns the number of keys deleted, -1 when late calls are still pending (not in the history yet)
-- or -2 when the cycle is not closed (nothing changed either way).
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if redis.call('HGET', KEYS[1], 'history:state') ~= 'closed' then return -2 end
local doomed = {}
for i = 3, #KEYS do doomed[#doomed + 1] = KEYS[i] end
redis.call('HSET', KEYS[1], 'calls:dropped', decimal(now_ms()))
return redis.call('DEL', unpack(doomed))
