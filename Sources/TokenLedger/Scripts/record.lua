-- record.lua: records one call's usage, once per (user, cycle, call id).
-- KEYS: 1 profile, 2 cycle, 3 the call's fingerprint bucket (calls:<D>:<bucket>), 4 events, 5 late (pending
--       adjustments of a closed cycle), 6 lease-scopes, 7 leases (the groups to book: call_groups in
--       common.lua), 8 rate, 9 rate-tokens (optional: without them no rate limit is
--       charged; with them, an applied record is charged to the window when a tpm or rpm limit applies)
-- ARGV: 1 assumed policy, 2 call id, 3-7 counts (see usage_counts), 8 model, 9 default limit,
--       10 thresholds, 11 user id, 12 cycle name, 13 '1' when the caller sends WAIT after it ('0' otherwise),
--       14 the event's cost in nano-USD (-1 = unpriced), 15 the provider-reported cost in nano-USD
--       (-1 = not reported) (see cost_args: the caller prices the event once, when it is first built),
--       16 the default currency limit in nano-USD (-1 = none), for the currency soft thresholds the
--       event may reach, 17 the call's 12-byte fingerprint field (CallFingerprint.swift), 18 '1' to apply
--       it even though the cycle's call ids were dropped (an administrator's `spool parked apply`; '0'
--       or absent otherwise), 19 default tpm, 20 default rpm (-1 or absent = none; the caller leaves both out
--       when neither applies, so a namespace without default rate limits sends no bytes for them)
-- Returns {'policy', stored} | {'retired', last retired cycle} (retention deleted the cycle: nothing
-- written) | {'parked', cycle used tokens, cycle calls} (rollover dropped the cycle's call ids, the
-- dedupe window passed: it cannot be deduplicated, nothing written, the caller parks it) | {status, cycle used tokens, cycle calls, recorded, index due}, status 'applied', 'duplicate'
-- or 'late' (applied to a cycle rollover closed: the caller amends its history, see close.lua);
-- recorded is, for a duplicate, the total tokens its call id was first recorded with (0 otherwise),
-- so a caller can tell a retry from a reused call id with another amount;
-- index due is 1 when this record claimed the index write (index_due in common.lua: no
-- `index:done` mark and no fresh claim): the caller then runs index.lua (the {global} slot) and
-- index_mark.lua, so the namespace-wide index is written once per user and cycle, decided here
-- rather than by any process's memory;
-- then the groups the write is booked to as well: team and org ('' = none) and 'lease' (call_groups
-- in common.lua: the call's lease-scopes entry, else for an applied record the profile's, stored in
-- the entry so a retry books the same; the caller books them and drops the entry, see
-- TokenRepository.bookGroups), or 'profile' for a reserved call's live lease (its entry stays for its
-- settle, which drops the groups' leases).
local mismatch, limit, retired, limit_usd, team, org, tpm, rpm, folded = profile_check(KEYS[1], ARGV[1], ARGV[9], ARGV[16],
  ARGV[19], ARGV[20])
if mismatch then return {'policy', mismatch} end
if retired and ARGV[12] <= retired then return {'retired', retired} end
local input, output, cached, cache_write, reasoning = usage_counts(ARGV, 3)
local cost, reported = cost_args(ARGV, 14)
local field = fingerprint_arg(ARGV[17])
-- The rate window is read and checked before the usage is written (a damaged one refuses the record).
local rate_now, rate_sum
if (tpm or rpm) and KEYS[9] then
  rate_now = now_ms()
  rate_sum = rate_prepare(KEYS[8], KEYS[9], ARGV[2], rate_now)
end
local applied, used, count, late, indexed, parked, spent = apply_usage(KEYS[2], KEYS[3], ARGV[2], ARGV[8], input, output,
  cached, cache_write, reasoning, limit, ARGV[10], KEYS[4], ARGV[11], ARGV[12], KEYS[5], cost, reported, field,
  ARGV[18] == '1', folded)
if parked then return {'parked', used, count} end
local source
team, org, source = call_groups(KEYS[6], KEYS[7], ARGV[2], applied, team, org, true, ARGV[12])
-- A call recorded without a reservation is charged to the rate window as it happens; one that holds
-- a lease (record, then settle drops it) has its reservation's charge set to the actual tokens, as a
-- settle would (rate_settle, estimate -1: no entry, all of it as one request).
if applied and rate_now then rate_settle(KEYS[8], KEYS[9], ARGV[2], input + output, -1, rate_now, rate_sum) end
-- The currency soft thresholds on the spend this event brought the cycle to (usd_thresholds).
if applied and spent then usd_thresholds(KEYS[2], KEYS[4], ARGV[11], ARGV[12], ARGV[10], spent, limit_usd) end
-- Under WAIT (ARGV[13] = '1'), a duplicate rewrites its call id's entry with the same value: a write,
-- so the caller's WAIT covers everything the primary took before, the original of this call too
-- (a script that writes nothing leaves WAIT nothing to wait for on a fresh connection).
local recorded_total = 0
if not applied then
  local recorded = redis.call('HGET', KEYS[3], field)
  if recorded and ARGV[13] == '1' then redis.call('HSET', KEYS[3], field, recorded) end
  recorded_total = tonumber(recorded or '0') or 0
end
return {late and 'late' or (applied and 'applied' or 'duplicate'), used, count, recorded_total,
  index_due(KEYS[2], indexed, count), team, org, source}
