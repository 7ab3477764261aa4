-- reset.lua: zeroes a cycle's counters, keeping the limit, the policy and the recorded call ids
-- (so a replayed call is still a duplicate), and appends an audit event with the previous values.
-- A cycle with no counters (a user who never recorded in it) is left alone: no event, no key.
-- The closed mark (`history:state`) stays, so a later call still amends the closed history.
-- A cycle rollover folded into its history summary (is_folded in common.lua) is refused: its
-- counters are the summary's, which reset does not change (the history is immutable).
-- KEYS: 1 cycle, 2 events, 3 profile (its `folded` field)
-- ARGV: 1 user id, 2 cycle name, 3 who/why (free text)
-- Returns the previous counters as {field, value, ...}, false when there was nothing to reset, or
-- 'folded' (nothing changed) when the cycle is folded
local marks = redis.call('HMGET', KEYS[1], 'history:state', 'calls', 'calls:dropped')
if is_folded(marks[1], marks[2], marks[3], ARGV[2], redis.call('HGET', KEYS[3], 'folded')) then return 'folded' end
local previous = redis.call('HGETALL', KEYS[1])
local event = {'type', 'reset', 'user', ARGV[1], 'cycle', ARGV[2], 'by', ARGV[3]}
local total = 0
local counters = 0
local closed = false
for i = 1, #previous, 2 do
  local field = previous[i]
  if field == 'history:state' then closed = previous[i + 1] end
  if not string.find(field, ':', 1, true) then
    counters = counters + 1
    table.insert(event, 'previous_' .. field)
    table.insert(event, previous[i + 1])
    -- A corrupt counter (what an administrator may be resetting away) counts as 0 in the total;
    -- its stored text is kept in the audit event as it was.
    if field == 'input_tokens' or field == 'output_tokens' then total = total + (tonumber(previous[i + 1]) or 0) end
  end
end
if counters == 0 then return false end
table.insert(event, 'previous_total_tokens')
table.insert(event, total)
-- DEL first: a user without DEL (the application's ACL user) is refused before anything is written.
redis.call('DEL', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 10000, '*', unpack(event))
if closed then redis.call('HSET', KEYS[1], 'history:state', closed) end
return previous
