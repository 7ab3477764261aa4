-- retention.lua: deletes one user's counters and call ids of a cycle that is past the retention
-- period. The caller has checked that the cycle's summary for this user is in the history.
-- KEYS: 1 cycle:D, 2 calls:D
-- Returns the number of keys deleted.
return redis.call('DEL', KEYS[1], KEYS[2])
