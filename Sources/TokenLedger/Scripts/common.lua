-- common.lua: helpers prepended to every TokenLedger script (see docs/schema.md).
-- Every script touches only the keys it is given, all of one user's hash tag (one cluster slot).

-- Lua numbers are doubles: counters stay at or below 2^53 - 1 so every value is exact.
local MAX_COUNTER = 9007199254740991

-- Globals read through locals: the record path runs for every event and Lua 5.1 looks globals up
-- in a table on every use.
local tonumber = tonumber
local format = string.format

-- A counter as the decimal string Redis stores. Passing a Lua number to redis.call costs a
-- floating-point format (%.17g) per argument; '%d' is exact for every counter (<= 2^53 - 1) and
-- about twice as fast.
local function decimal(n) return format('%d', n) end

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

-- A token count argument: an integer from -1 (not reported) to 10^12, else BADINPUT naming it.
local function usage_count(args, index, name)
  local v = tonumber(args[index])
  if v == nil or v % 1 ~= 0 or v < -1 or v > 1000000000000 then
    error({err = 'BADINPUT ' .. name .. ' must be an integer from 0 to 10^12'})
  end
  return v
end

-- Usage arguments, in this order: call_id, input, output, cached, cache_write, reasoning
-- (-1 = not reported), model, provider. Returns a table, or raises BADINPUT before any write.
-- (Kept lean on purpose: Redis runs this for every recorded event.)
local function parse_usage(args, first)
  local u = {
    call_id = args[first],
    input = usage_count(args, first + 1, 'input'),
    output = usage_count(args, first + 2, 'output'),
    cached = usage_count(args, first + 3, 'cached'),
    cache_write = usage_count(args, first + 4, 'cache_write'),
    reasoning = usage_count(args, first + 5, 'reasoning'),
    model = args[first + 6],
    provider = args[first + 7],
  }
  if u.input < 0 or u.output < 0 then error({err = 'BADINPUT input and output are required'}) end
  u.total = u.input + u.output
  return u
end

-- The cycle's tokens so far: input + output (the total is derived, not stored).
local function cycle_used(cycle)
  local v = redis.call('HMGET', cycle, 'input_tokens', 'output_tokens')
  return (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0)
end

-- Adds one call's usage to the cycle unless its call id was already recorded there.
--
-- Redis runs this for every event, so it makes as few Redis calls as it can: one HMGET reads the
-- cycle's counters and its primary model, one HSETNX claims the call id, one HSET writes the new
-- counters back (the script is atomic). The primary model is the first model recorded in the
-- cycle (field `model:primary`); its per-model counters are not stored but derived by readers as
-- the cycle's counters minus the other models' `m:` counters, so the common case of one model per
-- user costs no per-model writes. Other models get explicit `m:` counters; a cycle written before
-- `model:primary` existed (it has calls but no primary) keeps explicit counters for every model.
--
-- With a limit, each soft threshold (comma-separated percents) the call newly reaches is marked
-- once (`threshold:P` = the total then) and appends one event to `events`.
-- Returns whether it applied (false: a duplicate), the cycle's used tokens and its calls after
-- the call. Raises OVERFLOW, before any write, when the total would pass 2^53 - 1.
local function apply_usage(cycle, calls, u, limit, percents, events, user, cycle_name)
  local current = redis.call('HMGET', cycle, 'input_tokens', 'output_tokens', 'calls', 'model:primary')
  local input = (tonumber(current[1]) or 0) + u.input
  local output = (tonumber(current[2]) or 0) + u.output
  local count = tonumber(current[3]) or 0
  local used = input + output
  if used > MAX_COUNTER then
    if redis.call('HEXISTS', calls, u.call_id) == 1 then return false, used - u.total, count end
    error({err = 'OVERFLOW the cycle total would pass 2^53 - 1 tokens'})
  end
  if redis.call('HSETNX', calls, u.call_id, decimal(u.total)) == 0 then return false, used - u.total, count end
  count = count + 1
  local primary = current[4]
  if primary == u.model then
    redis.call('HSET', cycle, 'input_tokens', decimal(input), 'output_tokens', decimal(output), 'calls', decimal(count))
  elseif primary == false and count == 1 then
    redis.call('HSET', cycle, 'input_tokens', decimal(input), 'output_tokens', decimal(output), 'calls', decimal(count),
      'model:primary', u.model)
  else
    local mi, mo, mc = 'm:input_tokens:' .. u.model, 'm:output_tokens:' .. u.model, 'm:calls:' .. u.model
    local m = redis.call('HMGET', cycle, mi, mo, mc)
    redis.call('HSET', cycle, 'input_tokens', decimal(input), 'output_tokens', decimal(output), 'calls', decimal(count),
      mi, decimal((tonumber(m[1]) or 0) + u.input), mo, decimal((tonumber(m[2]) or 0) + u.output),
      mc, decimal((tonumber(m[3]) or 0) + 1))
  end
  if u.cached > 0 then redis.call('HINCRBY', cycle, 'cached_input_tokens', u.cached) end
  if u.cache_write > 0 then redis.call('HINCRBY', cycle, 'cache_write_tokens', u.cache_write) end
  if u.reasoning > 0 then redis.call('HINCRBY', cycle, 'reasoning_tokens', u.reasoning) end
  if limit ~= nil and used > 0 then
    for percent in string.gmatch(percents, '%d+') do
      if used * 100 >= tonumber(percent) * limit and redis.call('HSETNX', cycle, 'threshold:' .. percent, used) == 1 then
        redis.call('XADD', events, 'MAXLEN', '~', 10000, '*',
          'type', 'threshold', 'user', user, 'cycle', cycle_name, 'threshold', percent,
          'used', used, 'limit', limit)
      end
    end
  end
  return true, used, count
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
