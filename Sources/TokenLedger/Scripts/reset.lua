-- reset.lua: zeroes a cycle's counters, keeping the limit, the policy and the recorded call ids
-- (so a replayed call is still a duplicate), and appends an audit event with the previous values.
-- A cycle with no counters (a user who never recorded in it) is left alone: no event, no key.
-- The closed mark (`history:state`) stays, so a later call still amends the closed history, and so
-- does the mark of dropped call ids (`calls:dropped`), so a replay after the dedupe window is still parked.
-- KEYS: 1 cycle, 2 events
-- ARGV: 1 user id, 2 cycle name, 3 who/why (free text)
-- Returns the previous counters as {field, value, ...}, or false when there was nothing to reset
local previous = redis.call('HGETALL', KEYS[1])
local event = {'type', 'reset', 'user', ARGV[1], 'cycle', ARGV[2], 'by', ARGV[3]}
local total = 0
local counters = 0
local closed = false
local dropped = false
for i = 1, #previous, 2 do
  local field = previous[i]
  if field == 'history:state' then closed = previous[i + 1] end
  if field == 'calls:dropped' then dropped = previous[i + 1] end
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
if dropped then redis.call('HSET', KEYS[1], 'calls:dropped', dropped) end
return previous
