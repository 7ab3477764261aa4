-- settle.lua: replaces a call's lease with its actual usage, exactly once. With no live lease
-- the usage is still recorded (the call happened).
-- KEYS: 1 profile, 2 cycle, 3 the call's fingerprint bucket, 4 events, 5 leases, 6 lease-expiry, 7 reserved, 8 late, 9 lease-usd,
--       10 reserved-usd (the lease's cost is dropped with its tokens; the actual cost is recorded by apply_usage),
--       11 lease-scopes (the groups a lease was taken in, or those an applied write stored: call_groups in
--       common.lua; dropped by the caller once booked),
--       12 rate, 13 rate-tokens (when a rate limit applies, an applied settle corrects the window to the
--       actual tokens: rate_settle in common.lua)
-- ARGV: as record.lua (13: '1' under WAIT, see there; 14-15 the event's cost and reported cost;
--       16 the default currency limit; 17 the fingerprint field; 18 force; 19 default tpm, 20 default rpm,
--       absent when neither applies)
-- Returns {'policy', stored} | {'retired', cycle} | {'parked', used, calls} (as record.lua; the lease
-- stays until it expires) | {status, cycle used tokens, cycle calls,
-- released tokens, index due, recorded} (statuses, index due and recorded as record.lua: for a
-- duplicate, the total tokens its call id was first recorded with, 0 otherwise), then the groups
-- to book (team, org, and 'lease': from the call's lease-scopes entry, see call_groups). A duplicate with
-- another total (a reused call id, not a retry) keeps the lease: nothing is written for it, and
-- the caller refuses it as a conflict.
local mismatch, limit, retired, limit_usd, team, org, tpm, rpm, folded = profile_check(KEYS[1], ARGV[1], ARGV[9], ARGV[16],
  ARGV[19], ARGV[20])
if mismatch then return {'policy', mismatch} end
if retired and ARGV[12] <= retired then return {'retired', retired} end
local input, output, cached, cache_write, reasoning = usage_counts(ARGV, 3)
local cost, reported = cost_args(ARGV, 14)
local field = fingerprint_arg(ARGV[17])
local now = now_ms()
-- Leases that expired go, with their lease-scopes entries (this call's too: an expired lease keeps
-- no groups, the call then takes the profile's).
local reserved, reserved_cost = reclaim_expired(KEYS[7], KEYS[5], KEYS[6], now, KEYS[9], KEYS[10], KEYS[11])
-- checked before the usage is written
local lease, lease_cost = lease_tokens(KEYS[7], KEYS[5], ARGV[2], reserved, KEYS[9], KEYS[10], reserved_cost)
-- The rate window is read and checked before the usage is written (a damaged one refuses the settle).
local rate_sum
if (tpm or rpm) and KEYS[13] then rate_sum = rate_prepare(KEYS[12], KEYS[13], ARGV[2], now) end
local applied, used, count, late, indexed, parked, spent = apply_usage(KEYS[2], KEYS[3], ARGV[2], ARGV[8], input, output,
  cached, cache_write, reasoning, limit, ARGV[10], KEYS[4], ARGV[11], ARGV[12], KEYS[8], cost, reported, field,
  ARGV[18] == '1', folded)
if parked then return {'parked', used, count} end
-- The groups, read before the lease is dropped: a live lease keeps those it was taken in, a retry
-- books those its first attempt stored (call_groups).
local source
team, org, source = call_groups(KEYS[11], KEYS[5], ARGV[2], applied, team, org, nil, ARGV[12])
-- The currency soft thresholds on the spend this event brought the cycle to (usd_thresholds).
if applied and spent then usd_thresholds(KEYS[2], KEYS[4], ARGV[11], ARGV[12], ARGV[10], spent, limit_usd) end
-- Under WAIT, a duplicate (see record.lua) rewrites its call id's entry with the same value: a write,
-- so the caller's WAIT covers everything the primary took before, the original of this call too
-- (a script that writes nothing leaves WAIT nothing to wait for on a fresh connection).
local recorded_total = 0
if not applied then
  local recorded = redis.call('HGET', KEYS[3], field)
  if recorded and ARGV[13] == '1' then redis.call('HSET', KEYS[3], field, recorded) end
  recorded_total = tonumber(recorded or '0') or 0
end
-- The rate window: the lease's charge corrected to the actual tokens; a call without a lease is
-- charged as record.lua charges it (estimate -1: all of it, one request).
if applied and rate_sum then
  local estimate = -1
  if lease > 0 or redis.call('HEXISTS', KEYS[5], ARGV[2]) == 1 then estimate = lease end
  rate_settle(KEYS[12], KEYS[13], ARGV[2], input + output, estimate, now, rate_sum)
end
local released = 0
if applied or recorded_total == input + output then
  released = drop_lease(KEYS[7], KEYS[5], KEYS[6], ARGV[2], lease, reserved, KEYS[9], KEYS[10], lease_cost, reserved_cost)
end
return {late and 'late' or (applied and 'applied' or 'duplicate'), used, count, released,
  index_due(KEYS[2], indexed, count), recorded_total, team, org, source}
