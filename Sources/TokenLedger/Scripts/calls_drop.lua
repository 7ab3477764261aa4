-- calls_drop.lua: folds one closed cycle into its history summary once its dedupe window has passed
-- (rollover decides when, after checking the summary is in the history): drops the call
-- fingerprints and the counters, leaving of the cycle hash only the marks `history:state` = 'closed'
-- and `calls:dropped` = server ms, so a later record or settle of the cycle is parked instead of
-- counted twice (and one an administrator applies anyway is a late call that amends the summary).
-- Readers take a dropped cycle's counters from its summary.
-- KEYS: 1 cycle:D, 2 late:D, 3 calls:D (schema version 1's call ids, if any are left), 4… the cycle's
--       call fingerprint buckets calls:D:<bucket>
-- Returns the number of keys deleted, -1 when late calls are still pending (not in the history yet)
-- or -2 when the cycle is not closed (nothing changed either way).
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if redis.call('HGET', KEYS[1], 'history:state') ~= 'closed' then return -2 end
local doomed = {}
for i = 3, #KEYS do doomed[#doomed + 1] = KEYS[i] end
local deleted = redis.call('DEL', unpack(doomed))
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'history:state', 'closed', 'calls:dropped', decimal(now_ms()))
return deleted
