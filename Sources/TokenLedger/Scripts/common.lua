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

-- The usage counts at args[first .. first + 4]: input, output, cached, cache_write, reasoning,
-- each an integer from -1 (not reported) to 10^12, input and output reported. Returns them as
-- numbers, or raises BADINPUT naming the first bad one, before any write. One combined test runs
-- for every event (Redis runs it per record); bad_usage_count finds the culprit only on failure.
-- (Every EVALSHA runs this whole prefix, so a table here would be built for every event.)
local MAX_USAGE_COUNT = 1000000000000

local function bad_usage_count(args, first)
  local names = {'input', 'output', 'cached', 'cache_write', 'reasoning'}
  for i = 1, 5 do
    local v = tonumber(args[first + i - 1])
    if v == nil or v % 1 ~= 0 or v < -1 or v > MAX_USAGE_COUNT then
      error({err = 'BADINPUT ' .. names[i] .. ' must be an integer from 0 to 10^12'})
    end
  end
  error({err = 'BADINPUT input and output are required'})
end

local function usage_counts(args, first)
  local input, output = tonumber(args[first]), tonumber(args[first + 1])
  local cached, cache_write, reasoning = tonumber(args[first + 2]), tonumber(args[first + 3]), tonumber(args[first + 4])
  -- A NaN or infinity fails the sum of remainders (NaN ~= 0) or the range tests.
  if not (input and output and cached and cache_write and reasoning)
    or input % 1 + output % 1 + cached % 1 + cache_write % 1 + reasoning % 1 ~= 0
    or input < 0 or output < 0 or cached < -1 or cache_write < -1 or reasoning < -1
    or input > MAX_USAGE_COUNT or output > MAX_USAGE_COUNT or cached > MAX_USAGE_COUNT
    or cache_write > MAX_USAGE_COUNT or reasoning > MAX_USAGE_COUNT then
    bad_usage_count(args, first)
  end
  return input, output, cached, cache_write, reasoning
end

-- The cycle's tokens so far: input + output (the total is derived, not stored).
local function cycle_used(cycle)
  local v = redis.call('HMGET', cycle, 'input_tokens', 'output_tokens')
  return (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0)
end

-- A call applied to a cycle that rollover already closed: kept in the user's `late:<cycle>` hash
-- (call id -> the adjustment as JSON, integers only) until the caller (or the next rollover) has
-- amended the {global} history with it, and announced on the user's event stream.
local function late_adjustment(late, events, user, cycle_name, call_id, model, input_n, output_n, cached, cache_write,
    reasoning)
  local at = now_ms()
  if cached < 0 then cached = 0 end
  if cache_write < 0 then cache_write = 0 end
  if reasoning < 0 then reasoning = 0 end
  redis.call('HSET', late, call_id, format(
    '{"at":%d,"cache_write_tokens":%d,"cached_input_tokens":%d,"call_id":%s,"input_tokens":%d,"model":%s,'
      .. '"output_tokens":%d,"reasoning_tokens":%d}',
    at, cache_write, cached, cjson.encode(call_id), input_n, cjson.encode(model), output_n, reasoning))
  redis.call('XADD', events, 'MAXLEN', '~', 10000, '*', 'type', 'adjustment', 'user', user, 'cycle', cycle_name,
    'call_id', call_id, 'delta_tokens', decimal(input_n + output_n), 'at', decimal(at))
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
-- The usage is the call id, the model and the counts from usage_counts (-1 = not reported).
-- With a limit, each soft threshold (comma-separated percents) the call newly reaches is marked
-- once (`threshold:P` = the total then) and appends one event to `events` naming the user and the
-- cycle; without one (limit nil) the last five arguments may be nil.
-- The arguments are positional, not a table: building a table per event cost Redis ~4 %.
-- A cycle that rollover closed (field `history:state` = 'closed') is still counted (the call
-- happened), and the call also becomes a pending adjustment of the closed cycle's history (hash
-- `late`, see late_adjustment), which the caller then applies to the {global} history.
-- Returns whether it applied (false: a duplicate), the cycle's used tokens and its calls after
-- the call, and whether it amends a closed cycle. Raises OVERFLOW, before any write, when the
-- total would pass 2^53 - 1.
local function apply_usage(cycle, calls, call_id, model, input_n, output_n, cached, cache_write, reasoning,
    limit, percents, events, user, cycle_name, late_key)
  local total = input_n + output_n
  local current = redis.call('HMGET', cycle, 'input_tokens', 'output_tokens', 'calls', 'model:primary', 'history:state')
  local input = (tonumber(current[1]) or 0) + input_n
  local output = (tonumber(current[2]) or 0) + output_n
  local count = tonumber(current[3]) or 0
  local used = input + output
  if used > MAX_COUNTER then
    if redis.call('HEXISTS', calls, call_id) == 1 then return false, used - total, count end
    error({err = 'OVERFLOW the cycle total would pass 2^53 - 1 tokens'})
  end
  local late = current[5] == 'closed'
  if late then
    -- Rare: the pending adjustment is the first write, so a refused one (ACL) leaves nothing behind.
    if redis.call('HEXISTS', calls, call_id) == 1 then return false, used - total, count, false end
    late_adjustment(late_key, events, user, cycle_name, call_id, model, input_n, output_n, cached, cache_write, reasoning)
  end
  if redis.call('HSETNX', calls, call_id, decimal(total)) == 0 then return false, used - total, count, false end
  count = count + 1
  local primary = current[4]
  if primary == model then
    redis.call('HSET', cycle, 'input_tokens', decimal(input), 'output_tokens', decimal(output), 'calls', decimal(count))
  elseif primary == false and count == 1 then
    redis.call('HSET', cycle, 'input_tokens', decimal(input), 'output_tokens', decimal(output), 'calls', decimal(count),
      'model:primary', model)
  else
    local mi, mo, mc = 'm:input_tokens:' .. model, 'm:output_tokens:' .. model, 'm:calls:' .. model
    local m = redis.call('HMGET', cycle, mi, mo, mc)
    redis.call('HSET', cycle, 'input_tokens', decimal(input), 'output_tokens', decimal(output), 'calls', decimal(count),
      mi, decimal((tonumber(m[1]) or 0) + input_n), mo, decimal((tonumber(m[2]) or 0) + output_n),
      mc, decimal((tonumber(m[3]) or 0) + 1))
  end
  if cached > 0 then redis.call('HINCRBY', cycle, 'cached_input_tokens', cached) end
  if cache_write > 0 then redis.call('HINCRBY', cycle, 'cache_write_tokens', cache_write) end
  if reasoning > 0 then redis.call('HINCRBY', cycle, 'reasoning_tokens', reasoning) end
  if limit ~= nil and used > 0 then
    for percent in string.gmatch(percents, '%d+') do
      if used * 100 >= tonumber(percent) * limit and redis.call('HSETNX', cycle, 'threshold:' .. percent, used) == 1 then
        redis.call('XADD', events, 'MAXLEN', '~', 10000, '*',
          'type', 'threshold', 'user', user, 'cycle', cycle_name, 'threshold', percent,
          'used', used, 'limit', limit)
      end
    end
  end
  return true, used, count, late
end

-- Reads the profile's policy and limit in one call; checks the policy the caller assumed.
-- Returns the stored policy when it differs (nil when it matches), the effective limit, and the
-- last cycle retention deleted (`retired`, a cycle name; nil when none).
local function profile_check(profile, assumed, default_limit)
  local v = redis.call('HMGET', profile, 'policy', 'limit', 'retired')
  local stored = v[1] or ''
  local limit = tonumber(v[2])
  if limit == nil then
    local fallback = tonumber(default_limit)
    if fallback and fallback >= 0 then limit = fallback end
  end
  if assumed ~= '*' and stored ~= assumed then return stored, limit, v[3] or nil end
  return nil, limit, v[3] or nil
end
