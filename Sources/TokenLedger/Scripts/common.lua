-- common.lua: helpers prepended to every TokenLedger script (see docs/schema.md).
-- Every script touches only the keys it is given, all of one user's hash tag (one cluster slot).

-- Lua numbers are doubles: counters stay at or below 2^53 - 1 so every value is exact.
local MAX_COUNTER = 9007199254740991

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The caller computed the cycle from the policy it believed the user has ('' = no override).
-- Returns the stored policy when it differs (the caller recomputes and retries), else nil.
-- '*' means the caller gave an explicit cycle, which wins over any policy.
local function policy_mismatch(profile, assumed)
  if assumed == '*' then return nil end
  local stored = redis.call('HGET', profile, 'policy') or ''
  if stored ~= assumed then return stored end
  return nil
end

-- The user's limit, else the default passed by the caller (-1 = none); nil means unlimited.
local function effective_limit(profile, default_limit)
  local own = redis.call('HGET', profile, 'limit')
  if own then return tonumber(own) end
  local fallback = tonumber(default_limit)
  if fallback and fallback >= 0 then return fallback end
  return nil
end

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

-- Adds one call's usage to the cycle unless its call id was already recorded there.
-- Returns true when applied, false for a duplicate. Raises OVERFLOW before writing anything.
local function apply_usage(cycle, calls, u)
  if redis.call('HEXISTS', calls, u.call_id) == 1 then return false end
  local current = tonumber(redis.call('HGET', cycle, 'total_tokens') or '0')
  if current + u.total > MAX_COUNTER then
    error({err = 'OVERFLOW the cycle total would pass 2^53 - 1 tokens'})
  end
  redis.call('HSET', calls, u.call_id, u.total)
  redis.call('HINCRBY', cycle, 'input_tokens', u.input)
  redis.call('HINCRBY', cycle, 'output_tokens', u.output)
  redis.call('HINCRBY', cycle, 'total_tokens', u.total)
  redis.call('HINCRBY', cycle, 'calls', 1)
  if u.cached >= 0 then redis.call('HINCRBY', cycle, 'cached_input_tokens', u.cached) end
  if u.cache_write >= 0 then redis.call('HINCRBY', cycle, 'cache_write_tokens', u.cache_write) end
  if u.reasoning >= 0 then redis.call('HINCRBY', cycle, 'reasoning_tokens', u.reasoning) end
  redis.call('HINCRBY', cycle, 'm:input_tokens:' .. u.model, u.input)
  redis.call('HINCRBY', cycle, 'm:output_tokens:' .. u.model, u.output)
  redis.call('HINCRBY', cycle, 'm:total_tokens:' .. u.model, u.total)
  redis.call('HINCRBY', cycle, 'm:calls:' .. u.model, 1)
  redis.call('HINCRBY', cycle, 'p:total_tokens:' .. u.provider, u.total)
  redis.call('HINCRBY', cycle, 'p:calls:' .. u.provider, 1)
  return true
end

-- Appends one event per soft threshold (percent of the limit) the cycle has newly reached.
local function fire_thresholds(profile, cycle, events, limit, thresholds, user, cycle_name)
  if limit == nil then return end
  local used = tonumber(redis.call('HGET', cycle, 'total_tokens') or '0')
  if used == 0 then return end
  for percent in string.gmatch(thresholds, '%d+') do
    local p = tonumber(percent)
    if used * 100 >= p * limit and redis.call('HSETNX', cycle, 'threshold:' .. percent, used) == 1 then
      redis.call('XADD', events, 'MAXLEN', '~', 10000, '*',
        'type', 'threshold', 'user', user, 'cycle', cycle_name, 'threshold', percent,
        'used', used, 'limit', limit)
    end
  end
end
