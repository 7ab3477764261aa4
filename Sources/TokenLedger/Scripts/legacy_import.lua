-- legacy_import.lua: imports one hash of the seed's layout (token_usage:<user>:<YYYY-MM-DD>) into
-- the user's explicit cycle, once: the call id 'legacy:<date>' makes a second import a duplicate.
-- The hash's usage_limit becomes the user's limit unless a limit was set in TokenLedger (not by an
-- import) or a later legacy cycle's limit was already imported; profile field legacy_limit
-- ('<date> <limit>') remembers which import set it.
-- KEYS: 1 profile, 2 cycle:D, 3 the call's fingerprint bucket calls:D:<bucket>
-- ARGV: 1 call id, 2-6 counts (see usage_counts: input, output, -1, -1, -1), 7 model,
--       8 limit ('' = none), 9 cycle name, 10 the call's 12-byte fingerprint field
-- Returns {'applied' | 'duplicate' | 'parked' (the cycle's call ids were dropped after the dedupe window:
-- it cannot be told from an earlier import, nothing counted) | 'closed' (rollover closed the cycle and
-- wrote its history: an import would have to amend the history as a late call; nothing counted) |
-- 'empty' (no tokens: only the limit is imported), 'set' | 'kept' | 'none'}
local input, output, cached, cache_write, reasoning = usage_counts(ARGV, 2)
local limit = ARGV[8]
if limit ~= '' then
  local n = tonumber(limit)
  if n == nil or n < 0 or n > MAX_COUNTER or n ~= math.floor(n) then
    error({err = 'BADINPUT the limit must be a whole number from 0 to 2^53 - 1'})
  end
end
local status = 'empty'
-- A cycle rollover folded (is_folded in common.lua) is parked by apply_usage.
local marks = redis.call('HMGET', KEYS[2], 'history:state', 'calls:dropped')
if input + output > 0 and marks[1] == 'closed' and not marks[2] then
  status = 'closed'
elseif input + output > 0 then
  local field = fingerprint_arg(ARGV[10])
  local applied, _, _, _, _, parked = apply_usage(KEYS[2], KEYS[3], ARGV[1], ARGV[7], input, output, cached,
    cache_write, reasoning, nil, nil, nil, nil, ARGV[9], nil, nil, nil, field, false,
    redis.call('HGET', KEYS[1], 'folded'))
  status = parked and 'parked' or (applied and 'applied' or 'duplicate')
end
local limit_status = 'none'
if limit ~= '' then
  local own = redis.call('HGET', KEYS[1], 'limit')
  local mark = redis.call('HGET', KEYS[1], 'legacy_limit')
  local mark_date, mark_value
  if mark then mark_date, mark_value = string.match(mark, '^(%S+) (%S+)$') end
  if own and (not mark or mark_value ~= own) then
    limit_status = 'kept'
  elseif mark_date and mark_date > ARGV[9] then
    limit_status = 'kept'
  else
    redis.call('HSET', KEYS[1], 'limit', limit, 'legacy_limit', ARGV[9] .. ' ' .. limit)
    limit_status = 'set'
  end
end
return {status, limit_status}
