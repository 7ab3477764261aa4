-- common.lua: helpers prepended to every TokenLedger script (see docs/schema.md).
-- Every script touches only the keys it is given, all of one user's hash tag (one cluster slot).

-- Lua numbers are doubles: counters stay at or below 2^53 - 1 so every value is exact.
local MAX_COUNTER = 9007199254740991

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Cycle-dependent scripts take the policy the caller believed the user has ('' = no override;
-- '*' = an explicit cycle, which wins) and refuse to write when the stored one differs (see
-- profile_check below): the caller then recomputes the cycle and retries.

-- Drops leases whose expiry has passed and returns the tokens still reserved.
local function reclaim_expired(reserved_key, leases, expiry, now)
  local expired = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, 500)
  if #expired > 0 then
    local freed = 0
    for _, id in ipairs(expired) do
      freed = freed + (tonumber(redis.call('HGET', leases, id)) or 0)
      redis.call('HDEL', leases, id)
    end
    redis.call('ZREM', expiry, unpack(expired))
    if freed > 0 then redis.call('DECRBY', reserved_key, freed) end
  end
  return tonumber(redis.call('GET', reserved_key) or '0')
end

-- Reserved tokens as they would be after reclaiming, without writing (for read-only scripts).
local function live_reserved(reserved_key, leases, expiry, now)
  local reserved = tonumber(redis.call('GET', reserved_key) or '0')
  local expired = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, 500)
  for _, id in ipairs(expired) do
    reserved = reserved - (tonumber(redis.call('HGET', leases, id)) or 0)
  end
  if reserved < 0 then reserved = 0 end
  return reserved
end

-- Removes one lease and returns its tokens (0 when there was none).
local function drop_lease(reserved_key, leases, expiry, call_id)
  local tokens = tonumber(redis.call('HGET', leases, call_id) or '0')
  if redis.call('HDEL', leases, call_id) == 1 then
    redis.call('ZREM', expiry, call_id)
    if tokens > 0 then redis.call('DECRBY', reserved_key, tokens) end
  end
  return tokens
end

-- Usage arguments, in this order: call_id, input, output, cached, cache_write, reasoning
-- (-1 = not reported), model, provider. Returns a table, or raises BADINPUT before any write.
local function parse_usage(args, first)
  local u = {
    call_id = args[first],
    input = tonumber(args[first + 1]),
    output = tonumber(args[first + 2]),
    cached = tonumber(args[first + 3]),
    cache_write = tonumber(args[first + 4]),
    reasoning = tonumber(args[first + 5]),
    model = args[first + 6],
    provider = args[first + 7],
  }
  for _, name in ipairs({'input', 'output', 'cached', 'cache_write', 'reasoning'}) do
    local v = u[name]
    if v == nil or v ~= math.floor(v) or v < -1 or v > 1000000000000 then
      error({err = 'BADINPUT ' .. name .. ' must be an integer from 0 to 10^12'})
    end
  end
  if u.input < 0 or u.output < 0 then error({err = 'BADINPUT input and output are required'}) end
  u.total = u.input + u.output
  return u
end

-- The cycle's tokens so far: input + output (the total is derived, not stored).
local function cycle_used(cycle)
  local v = redis.call('HMGET', cycle, 'input_tokens', 'output_tokens')
  return (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0)
end

-- Undoes one HINCRBY of `delta` on `field`; removes the field when this increment created it.
local function undo_increment(key, field, delta, after)
  if after == delta then redis.call('HDEL', key, field) else redis.call('HINCRBY', key, field, -delta) end
end

-- Adds one call's usage to the cycle unless its call id was already recorded there.
-- Returns the cycle's used tokens and calls after the call, or false for a duplicate. Raises
-- OVERFLOW when a counter would pass 2^53 - 1, leaving everything as it was.
local function apply_usage(cycle, calls, u)
  if redis.call('HSETNX', calls, u.call_id, u.total) == 0 then return false end
  local input = redis.call('HINCRBY', cycle, 'input_tokens', u.input)
  local output = redis.call('HINCRBY', cycle, 'output_tokens', u.output)
  if input + output > MAX_COUNTER then
    undo_increment(cycle, 'input_tokens', u.input, input)
    undo_increment(cycle, 'output_tokens', u.output, output)
    redis.call('HDEL', calls, u.call_id)  -- an emptied hash disappears too
    error({err = 'OVERFLOW the cycle total would pass 2^53 - 1 tokens'})
  end
  local count = redis.call('HINCRBY', cycle, 'calls', 1)
  if u.cached > 0 then redis.call('HINCRBY', cycle, 'cached_input_tokens', u.cached) end
  if u.cache_write > 0 then redis.call('HINCRBY', cycle, 'cache_write_tokens', u.cache_write) end
  if u.reasoning > 0 then redis.call('HINCRBY', cycle, 'reasoning_tokens', u.reasoning) end
  redis.call('HINCRBY', cycle, 'm:input_tokens:' .. u.model, u.input)
  redis.call('HINCRBY', cycle, 'm:output_tokens:' .. u.model, u.output)
  redis.call('HINCRBY', cycle, 'm:calls:' .. u.model, 1)
  return input + output, count
end

-- Appends one event per soft threshold (percent of the limit) the cycle has newly reached.
local function fire_thresholds(cycle, events, used, limit, thresholds, user, cycle_name)
  if limit == nil or used == 0 then return end
  for percent in string.gmatch(thresholds, '%d+') do
    local p = tonumber(percent)
    if used * 100 >= p * limit and redis.call('HSETNX', cycle, 'threshold:' .. percent, used) == 1 then
      redis.call('XADD', events, 'MAXLEN', '~', 10000, '*',
        'type', 'threshold', 'user', user, 'cycle', cycle_name, 'threshold', percent,
        'used', used, 'limit', limit)
    end
  end
end

-- Reads the profile's policy and limit in one call; checks the policy the caller assumed.
-- Returns the stored policy when it differs (nil when it matches), and the effective limit.
local function profile_check(profile, assumed, default_limit)
  local v = redis.call('HMGET', profile, 'policy', 'limit')
  local stored = v[1] or ''
  local limit = tonumber(v[2])
  if limit == nil then
    local fallback = tonumber(default_limit)
    if fallback and fallback >= 0 then limit = fallback end
  end
  if assumed ~= '*' and stored ~= assumed then return stored, limit end
  return nil, limit
end
