-- retention.lua: deletes one user's counters and call ids of a cycle that is past the retention
-- period. The caller has checked that the cycle's summary for this user is in the history. A cycle
-- with adjustments not yet in the history is kept. The profile remembers the latest cycle deleted
-- (`retired`), so a late event for it is refused (record.lua) instead of re-creating the cycle
-- without its call ids.
-- KEYS: 1 cycle:D, 2 calls:D (schema version 1's call ids, if any are left), 3 profile, 4 late:D,
--       5… the cycle's call fingerprint buckets calls:D:<bucket>
-- ARGV: 1 cycle name
-- Returns the number of keys deleted, or -1 when adjustments are still pending.
if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
local retired = redis.call('HGET', KEYS[3], 'retired')
if not retired or retired < ARGV[1] then redis.call('HSET', KEYS[3], 'retired', ARGV[1]) end
local doomed = {KEYS[1], KEYS[2]}
for i = 5, #KEYS do doomed[#doomed + 1] = KEYS[i] end
return redis.call('DEL', unpack(doomed))
