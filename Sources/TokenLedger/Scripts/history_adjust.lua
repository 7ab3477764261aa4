-- history_adjust.lua: amends a closed cycle's history with one late call (an event applied after
-- rollover closed the user's cycle), once per (user, call id): an audit entry, the user's summary
-- and the cycle's totals follow.
-- KEYS: 1 history:D, 2 history-totals:D, 3 history-adjustments:D ("<len>:<user><call id>" -> entry JSON)
-- ARGV: 1 user id, 2 call id, 3 the pending adjustment as close.lua/late_adjustment wrote it
-- Its money (`cost_nano`: -1 unpriced; `reported_cost_nano`: -1 not reported; both absent in
-- adjustments written before cost) adds to the summary's `cost_usd`/`unpriced_calls`/`reported_cost_usd`
-- (and its model's), the totals' `cost_nano`/`unpriced_calls`/`reported_cost_nano`/`m:…` fields and
-- the audit entry.
-- Returns 'applied', 'duplicate', or 'unclosed' (no summary for the user yet: nothing written).
local user, call_id = ARGV[1], ARGV[2]
local text = redis.call('HGET', KEYS[1], user)
if not text then return 'unclosed' end
local field = string.len(user) .. ':' .. user .. call_id
if redis.call('HEXISTS', KEYS[3], field) == 1 then return 'duplicate' end

local function whole(value, what)
  if type(value) ~= 'number' or value < 0 or value > MAX_COUNTER or value ~= math.floor(value) then
    error({err = 'BADINPUT ' .. what .. ' must be a whole number from 0 to 2^53 - 1'})
  end
  return value
end
-- Decode and check everything before the first write (Redis does not roll back a failed script).
local ok, delta = pcall(cjson.decode, ARGV[3])
if not ok or type(delta) ~= 'table' or type(delta.model) ~= 'string' then
  error({err = 'BADINPUT the adjustment of ' .. call_id .. ' is not a JSON object with a model'})
end
local names = {'input_tokens', 'output_tokens', 'cached_input_tokens', 'cache_write_tokens', 'reasoning_tokens', 'at'}
for _, name in ipairs(names) do whole(delta[name], name) end
local function signed(value, what)
  if value == nil then return nil end
  if type(value) ~= 'number' or value < -1 or value > MAX_COUNTER or value ~= math.floor(value) then
    error({err = 'BADINPUT ' .. what .. ' must be a whole number from -1 to 2^53 - 1'})
  end
  return value
end
local cost = signed(delta.cost_nano, 'cost_nano')
local reported = signed(delta.reported_cost_nano, 'reported_cost_nano') or -1
local ok2, summary = pcall(cjson.decode, text)
if not ok2 or type(summary) ~= 'table' then
  error({err = 'CORRUPT the history summary of ' .. user .. ' in ' .. KEYS[1] .. ' is not a JSON object'})
end

-- JSON with sorted keys and integers printed exactly (cjson would print large numbers as 1e+14).
local function encode(v)
  local t = type(v)
  if t == 'number' then return format('%d', v) end
  if t == 'string' then return cjson.encode(v) end
  if t == 'boolean' then return tostring(v) end
  if t == 'table' then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys)
    local parts = {}
    for i, k in ipairs(keys) do parts[i] = cjson.encode(k) .. ':' .. encode(v[k]) end
    return '{' .. table.concat(parts, ',') .. '}'
  end
  return 'null'
end

local total = delta.input_tokens + delta.output_tokens
-- A summary folded after the dedupe window (CycleSummary+Compact.swift: `e` instead of `cycle_end`,
-- short counter names, absent = 0, the primary model `p` derived, '' when absent) takes the call the
-- way the cycle hash would: only models other than the primary get per-model counters.
local compact = summary.e ~= nil and summary.cycle_end == nil
-- A compact summary's number (absent = 0), checked: anything but a whole number from 0 to 2^53 - 1
-- is a damaged summary, reported (BADSTATE naming the key, the user and the field) before any write,
-- never read as 0.
local function counter(name)
  local value = summary[name]
  if value == nil then return 0 end
  if type(value) ~= 'number' or value < 0 or value > MAX_COUNTER or value % 1 ~= 0 then
    local ok, shown = pcall(cjson.encode, value)
    bad_state(KEYS[1], user .. ' ' .. name, ok and shown or tostring(value))
  end
  return value
end
if compact then
  for name in pairs(summary) do
    if name ~= 'p' then counter(name) end
  end
end
local function bump(name, n, what)
  if n == 0 then return end
  local sum = counter(name) + n
  if sum > MAX_COUNTER then error({err = 'OVERFLOW the history of ' .. user .. ' would pass 2^53 - 1 ' .. what}) end
  summary[name] = sum
end
local was_empty = (tonumber(summary.calls) or 0) == 0 and (tonumber(summary.total_tokens) or 0) == 0
local changes = {
  input_tokens = delta.input_tokens, output_tokens = delta.output_tokens, total_tokens = total, calls = 1,
  cached_input_tokens = delta.cached_input_tokens, cache_write_tokens = delta.cache_write_tokens,
  reasoning_tokens = delta.reasoning_tokens, adjustments = 1,
}
if compact then
  was_empty = counter('n') == 0 and counter('i') + counter('o') == 0
  local short = {input_tokens = 'i', output_tokens = 'o', calls = 'n', cached_input_tokens = 'ci',
    cache_write_tokens = 'cw', reasoning_tokens = 'r', adjustments = 'a'}
  for name, value in pairs(changes) do
    if short[name] then bump(short[name], value, name) end
  end
  local m = delta.model
  local explicit = (summary.p or '') ~= m  -- absent `p`: the primary model is '' (calls without one)
  if explicit then
    bump('mi:' .. m, delta.input_tokens, 'input_tokens')
    bump('mo:' .. m, delta.output_tokens, 'output_tokens')
    bump('mn:' .. m, 1, 'calls')
  end
  if cost then
    local priced = math.max(cost, 0)
    summary.c = counter('c')
    bump('c', priced, 'nano-USD cost')
    if explicit then bump('mc:' .. m, priced, 'nano-USD cost') end
    if cost < 0 then
      bump('u', 1, 'unpriced calls')
      if explicit then bump('mu:' .. m, 1, 'unpriced calls') end
    end
    if reported >= 0 then
      summary.rc = counter('rc')
      bump('rc', reported, 'nano-USD reported cost')
    end
  end
end
for name, value in pairs(compact and {} or changes) do
  local sum = (tonumber(summary[name]) or 0) + value
  if sum > MAX_COUNTER then error({err = 'OVERFLOW the history of ' .. user .. ' would pass 2^53 - 1 ' .. name}) end
  summary[name] = sum
end
if type(summary.models) ~= 'table' then summary.models = {} end
local model = compact and {} or summary.models[delta.model]
if type(model) ~= 'table' then model = {input_tokens = 0, output_tokens = 0, total_tokens = 0, calls = 0} end
model.input_tokens = (tonumber(model.input_tokens) or 0) + delta.input_tokens
model.output_tokens = (tonumber(model.output_tokens) or 0) + delta.output_tokens
model.total_tokens = (tonumber(model.total_tokens) or 0) + total
model.calls = (tonumber(model.calls) or 0) + 1
summary.models[delta.model] = model
if compact then summary.models = nil end

-- The money: a summary's cost may be null (closed without cost); a priced late call then starts it.
local function add_usd(text, n, what)
  local sum = (usd_nano(text) or 0) + n
  if sum > MAX_COUNTER then error({err = 'OVERFLOW the history of ' .. user .. ' would pass 2^53 - 1 nano-USD ' .. what}) end
  return nano_usd(sum)
end
-- As apply_usage does for the cycle hash, any cost (an unpriced call adds 0) makes the cost known.
local priced = cost and math.max(cost, 0)
if cost and not compact then
  summary.cost_usd = add_usd(summary.cost_usd, priced, 'cost')
  model.cost_usd = add_usd(model.cost_usd, priced, 'cost')
  if cost < 0 then
    summary.unpriced_calls = (tonumber(summary.unpriced_calls) or 0) + 1
    model.unpriced_calls = (tonumber(model.unpriced_calls) or 0) + 1
  end
  if reported >= 0 then summary.reported_cost_usd = add_usd(summary.reported_cost_usd, reported, 'reported cost') end
end

redis.call('HSET', KEYS[3], field, encode({
  user = user, call_id = call_id, model = delta.model, at = delta.at, input_tokens = delta.input_tokens,
  output_tokens = delta.output_tokens, total_tokens = total, cached_input_tokens = delta.cached_input_tokens,
  cache_write_tokens = delta.cache_write_tokens, reasoning_tokens = delta.reasoning_tokens,
  cost_nano = cost, reported_cost_nano = cost and reported or nil,
}))
redis.call('HSET', KEYS[1], user, encode(summary))
for name, value in pairs(changes) do
  if value > 0 then redis.call('HINCRBY', KEYS[2], name, format('%d', value)) end
end
if was_empty then redis.call('HINCRBY', KEYS[2], 'users', 1) end
redis.call('HINCRBY', KEYS[2], 'm:input_tokens:' .. delta.model, format('%d', delta.input_tokens))
redis.call('HINCRBY', KEYS[2], 'm:output_tokens:' .. delta.model, format('%d', delta.output_tokens))
redis.call('HINCRBY', KEYS[2], 'm:total_tokens:' .. delta.model, format('%d', total))
redis.call('HINCRBY', KEYS[2], 'm:calls:' .. delta.model, 1)
if cost then
  redis.call('HINCRBY', KEYS[2], 'cost_nano', format('%d', priced))
  redis.call('HINCRBY', KEYS[2], 'm:cost_nano:' .. delta.model, format('%d', priced))
  if cost < 0 then
    redis.call('HINCRBY', KEYS[2], 'unpriced_calls', 1)
    redis.call('HINCRBY', KEYS[2], 'm:unpriced_calls:' .. delta.model, 1)
  end
end
if cost and reported >= 0 then redis.call('HINCRBY', KEYS[2], 'reported_cost_nano', format('%d', reported)) end
return 'applied'
