-- history.lua: adds closed users' summaries to a cycle's immutable history, once per user, and
-- adds each new summary to the cycle's totals ('users' counts users with usage). A summary already
-- there is never changed.
-- KEYS: 1 history:D (user id -> summary JSON), 2 history-totals:D, 3 history cycles (sorted set)
-- ARGV: 1 cycle name, 2 cycle day number (days since 1970, the score), then pairs: user id, summary JSON
-- The summaries' money (`cost_usd`, `reported_cost_usd`: nine-decimal strings or null; `unpriced_calls`;
-- per model `cost_usd`, `unpriced_calls`) adds to the totals' `cost_nano`, `reported_cost_nano`,
-- `unpriced_calls`, `m:cost_nano:MODEL`, `m:unpriced_calls:MODEL`; a null cost adds nothing.
-- Returns the number of users newly added.
local counters = {
  'input_tokens', 'output_tokens', 'total_tokens', 'calls',
  'cached_input_tokens', 'cache_write_tokens', 'reasoning_tokens', 'unpriced_calls',
}
local model_counters = {'input_tokens', 'output_tokens', 'total_tokens', 'calls', 'unpriced_calls'}

-- A cost field: absent or null (no cost), or a nine-decimal USD string; its nano-USD or nil.
local function money(value, what)
  if value == nil or value == cjson.null then return nil end
  local n = usd_nano(value)
  if n == nil then error({err = 'BADINPUT ' .. what .. ' must be null or USD with nine decimals'}) end
  return n
end

local function whole(value, what)
  if type(value) ~= 'number' or value < 0 or value > MAX_COUNTER or value ~= math.floor(value) then
    error({err = 'BADINPUT ' .. what .. ' must be a whole number from 0 to 2^53 - 1'})
  end
  return value
end

-- Decode and check everything before the first write (Redis does not roll back a failed script).
local summaries = {}
for i = 3, #ARGV - 1, 2 do
  local ok, summary = pcall(cjson.decode, ARGV[i + 1])
  if not ok or type(summary) ~= 'table' then
    error({err = 'BADINPUT the summary of ' .. ARGV[i] .. ' is not a JSON object'})
  end
  for _, name in ipairs(counters) do whole(summary[name] or 0, name) end
  summary.cost_nano = money(summary.cost_usd, 'cost_usd')
  summary.reported_cost_nano = money(summary.reported_cost_usd, 'reported_cost_usd')
  if type(summary.models) == 'table' then
    for _, model in pairs(summary.models) do
      for _, name in ipairs(model_counters) do whole(model[name] or 0, 'models.' .. name) end
      model.cost_nano = money(model.cost_usd, 'models.cost_usd')
    end
  end
  summaries[#summaries + 1] = {ARGV[i], ARGV[i + 1], summary}
end

local added = 0
for _, entry in ipairs(summaries) do
  if redis.call('HSETNX', KEYS[1], entry[1], entry[2]) == 1 then
    added = added + 1
    local summary = entry[3]
    if (summary.calls or 0) > 0 or (summary.total_tokens or 0) > 0 then
      redis.call('HINCRBY', KEYS[2], 'users', 1)
    end
    for _, name in ipairs(counters) do
      local value = summary[name] or 0
      if value > 0 then redis.call('HINCRBY', KEYS[2], name, string.format('%d', value)) end
    end
    if summary.cost_nano then redis.call('HINCRBY', KEYS[2], 'cost_nano', string.format('%d', summary.cost_nano)) end
    if summary.reported_cost_nano then
      redis.call('HINCRBY', KEYS[2], 'reported_cost_nano', string.format('%d', summary.reported_cost_nano))
    end
    if type(summary.models) == 'table' then
      for model, usage in pairs(summary.models) do
        for _, name in ipairs(model_counters) do
          if name ~= 'unpriced_calls' or (usage[name] or 0) > 0 then
            redis.call('HINCRBY', KEYS[2], 'm:' .. name .. ':' .. model, string.format('%d', usage[name] or 0))
          end
        end
        if usage.cost_nano then
          redis.call('HINCRBY', KEYS[2], 'm:cost_nano:' .. model, string.format('%d', usage.cost_nano))
        end
      end
    end
  end
end
if added > 0 then redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1]) end
return added
