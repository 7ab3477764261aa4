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

-- A stored counter (a string from Redis, or false/nil when absent = 0) checked before use: anything
-- but a whole number from 0 to 2^53 - 1 raises BADSTATE naming the key (and field), e.g.
-- 'BADSTATE tl:{u}:reserved holds -950000'. Raised before the script's first write, so a corrupt
-- value is reported and never admits, hides or compounds anything.
local function bad_state(key, field, value, why)
  local shown = string.gsub(string.sub(tostring(value), 1, 40), '[^%w%p ]', '?')
  error({err = 'BADSTATE ' .. key .. (field and (' ' .. field) or '') .. ' holds ' .. shown .. (why or '')})
end

local function stored(value, key, field)
  if not value then return 0 end
  local n = tonumber(value)
  -- NaN fails n % 1 == 0; infinities fail the range.
  if n == nil or n < 0 or n > MAX_COUNTER or n % 1 ~= 0 then bad_state(key, field, value) end
  return n
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Cycle-dependent scripts take the policy the caller believed the user has ('' = no override;
-- '*' = an explicit cycle, which wins) and refuse to write when the stored one differs (see
-- profile_check below): the caller then recomputes the cycle and retries.

-- Drops leases whose expiry has passed and returns the tokens still reserved and the nano-USD still
-- reserved. A lease's cost lives apart from its tokens: `lease_costs` (hash: call id -> nano-USD, absent
-- = 0, so leases taken before currency reservations existed keep working) and `cost_key` (the total);
-- without them (nil) the cost is not touched and 0 is returned for it. Every value read (reserved, each
-- expired lease) is checked before the first write; leases that would free more than is reserved mean
-- the keys disagree: BADSTATE. `lease_scopes` (optional: a user's `lease-scopes` hash) loses the
-- entries of the leases dropped, so the groups of a lease that expired go with it, whichever call
-- reclaims it.
local function reclaim_expired(reserved_key, leases, expiry, now, lease_costs, cost_key, lease_scopes)
  local reserved = stored(redis.call('GET', reserved_key), reserved_key)
  local reserved_cost = 0
  if cost_key then reserved_cost = stored(redis.call('GET', cost_key), cost_key) end
  local expired = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, 500)
  if #expired > 0 then
    local freed, freed_cost = 0, 0
    for _, id in ipairs(expired) do
      freed = freed + stored(redis.call('HGET', leases, id), leases, id)
      if lease_costs then freed_cost = freed_cost + stored(redis.call('HGET', lease_costs, id), lease_costs, id) end
    end
    if freed > reserved then bad_state(reserved_key, nil, reserved, ', less than its expired leases (' .. freed .. ')') end
    if freed_cost > reserved_cost then
      bad_state(cost_key, nil, reserved_cost, ', less than its expired leases (' .. freed_cost .. ')')
    end
    redis.call('HDEL', leases, unpack(expired))
    redis.call('ZREM', expiry, unpack(expired))
    if lease_costs then redis.call('HDEL', lease_costs, unpack(expired)) end
    if lease_scopes then redis.call('HDEL', lease_scopes, unpack(expired)) end
    if freed > 0 then
      reserved = reserved - freed
      redis.call('DECRBY', reserved_key, freed)
    end
    if freed_cost > 0 then
      reserved_cost = reserved_cost - freed_cost
      redis.call('DECRBY', cost_key, freed_cost)
    end
  end
  return reserved, reserved_cost
end

-- Reserved tokens and nano-USD as they would be after reclaiming, without writing (for read-only
-- scripts); the cost is 0 without its keys (see reclaim_expired).
local function live_reserved(reserved_key, leases, expiry, now, lease_costs, cost_key)
  local reserved = stored(redis.call('GET', reserved_key), reserved_key)
  local reserved_cost = 0
  if cost_key then reserved_cost = stored(redis.call('GET', cost_key), cost_key) end
  local expired = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, 500)
  local freed, freed_cost = 0, 0
  for _, id in ipairs(expired) do
    freed = freed + stored(redis.call('HGET', leases, id), leases, id)
    if lease_costs then freed_cost = freed_cost + stored(redis.call('HGET', lease_costs, id), lease_costs, id) end
  end
  if freed > reserved then bad_state(reserved_key, nil, reserved, ', less than its expired leases (' .. freed .. ')') end
  if freed_cost > reserved_cost then
    bad_state(cost_key, nil, reserved_cost, ', less than its expired leases (' .. freed_cost .. ')')
  end
  return reserved - freed, reserved_cost - freed_cost
end

-- The tokens and nano-USD of one call's lease (0 when there is none), checked: a lease larger than
-- `reserved` (the key's value now, from reclaim_expired), or a cost larger than `reserved_cost`, means
-- the keys disagree: BADSTATE. Reads only, so a script can check before its first write.
local function lease_tokens(reserved_key, leases, call_id, reserved, lease_costs, cost_key, reserved_cost)
  local tokens = stored(redis.call('HGET', leases, call_id), leases, call_id)
  if tokens > reserved then bad_state(reserved_key, nil, reserved, ', less than the lease of ' .. call_id .. ' (' .. tokens .. ')') end
  local cost = 0
  if lease_costs then
    cost = stored(redis.call('HGET', lease_costs, call_id), lease_costs, call_id)
    if cost > reserved_cost then
      bad_state(cost_key, nil, reserved_cost, ', less than the lease of ' .. call_id .. ' (' .. cost .. ')')
    end
  end
  return tokens, cost
end

-- Removes one lease of `tokens` and `cost` nano-USD (from lease_tokens). Returns the tokens released,
-- the reserved tokens after, the nano-USD released and the reserved nano-USD after.
local function drop_lease(reserved_key, leases, expiry, call_id, tokens, reserved, lease_costs, cost_key, cost,
    reserved_cost)
  local released_cost = 0
  if redis.call('HDEL', leases, call_id) == 1 then
    redis.call('ZREM', expiry, call_id)
    if tokens > 0 then
      reserved = reserved - tokens
      redis.call('DECRBY', reserved_key, tokens)
    end
    if lease_costs then
      redis.call('HDEL', lease_costs, call_id)
      if cost > 0 then
        released_cost = cost
        reserved_cost = reserved_cost - cost
        redis.call('DECRBY', cost_key, cost)
      end
    end
  end
  return tokens, reserved, released_cost, reserved_cost
end

-- A `lease-scopes` entry, 'team\norg\ncycle' ('' = no such group; the cycle the entry was written in,
-- absent from entries written before it was stored): returns team, org and cycle (nil when absent).
local function scope_entry(taken)
  local first = string.find(taken, '\n', 1, true)
  if not first then return taken, '', nil end
  local second = string.find(taken, '\n', first + 1, true)
  if not second then return string.sub(taken, 1, first - 1), string.sub(taken, first + 1), nil end
  return string.sub(taken, 1, first - 1), string.sub(taken, first + 1, second - 1), string.sub(taken, second + 1)
end

-- Drops the `lease-scopes` entries written in `cycle` or before it whose call holds no lease: entries an
-- applied write stored for its groups' booking, left behind when the process died before the booking
-- finished and nothing retried it. Run when the cycle is folded (calls_drop.lua): the cycle's call ids
-- are gone, so a retry of such a call is parked and would never read the entry. Entries without a
-- cycle (written before it was stored) are kept. Returns the number dropped.
local function sweep_scope_entries(lease_scopes, leases, cycle)
  local dropped, cursor = 0, '0'
  repeat
    local page = redis.call('HSCAN', lease_scopes, cursor, 'COUNT', 200)
    cursor = page[1]
    local fields = page[2]
    for i = 1, #fields, 2 do
      local _, _, written = scope_entry(fields[i + 1])
      if written and written <= cycle and redis.call('HEXISTS', leases, fields[i]) == 0 then
        dropped = dropped + redis.call('HDEL', lease_scopes, fields[i])
      end
    end
  until cursor == '0'
  return dropped
end

-- The groups (team, org) a write of one call is booked to as well (docs/quota.md, "Scopes"), after
-- apply_usage: those of the call's `lease-scopes` entry when it has one (the groups its live lease
-- was taken in, or those an earlier attempt of this call stored and the caller has not finished
-- booking); else, for an applied write of a call without a live lease, the profile's (`team`, `org`),
-- stored in the entry in this same script, so a retry books exactly these even if the membership
-- changed in between; else none (a duplicate whose groups were all booked, or a call whose lease
-- was taken without groups). Returns team, org ('' = none) and 'lease' (the caller drops the entry
-- once every group is booked: scopes.lua 'forget'), or 'profile' (no entry to drop) for a write that
-- leaves the call's lease live (`keep_live`: a record of a reserved call): its entry stays for the
-- settle (or release) that drops the lease and the groups' leases. `cycle` (the write's cycle name)
-- ends a stored entry, so the fold of that cycle can drop it if its booking never finished
-- (sweep_scope_entries).
local function call_groups(lease_scopes, leases, call_id, applied, team, org, keep_live, cycle)
  local taken = redis.call('HGET', lease_scopes, call_id)
  if taken then
    local source = 'lease'
    if keep_live and redis.call('HEXISTS', leases, call_id) == 1 then source = 'profile' end
    team, org = scope_entry(taken)
    return team, org, source
  end
  team, org = team or '', org or ''
  if not applied or (team == '' and org == '') or redis.call('HEXISTS', leases, call_id) == 1 then
    return '', '', 'lease'
  end
  redis.call('HSET', lease_scopes, call_id, team .. '\n' .. org .. '\n' .. cycle)
  return team, org, 'lease'
end

-- The cycle's tokens (input + output) and its spend (`cost_nano`, nano-USD; absent = 0) in one HMGET.
local function cycle_spend(cycle)
  local v = redis.call('HMGET', cycle, 'input_tokens', 'output_tokens', 'cost_nano')
  return stored(v[1], cycle, 'input_tokens') + stored(v[2], cycle, 'output_tokens'), stored(v[3], cycle, 'cost_nano')
end

-- An amount of nano-USD given as an argument: an integer from 0 to 2^53 - 1, else BADINPUT naming it.
local function nano_argument(value, name)
  local n = tonumber(value)
  if n == nil or n < 0 or n > MAX_COUNTER or n % 1 ~= 0 then
    error({err = 'BADINPUT ' .. name .. ' must be an integer number of nano-USD from 0 to 2^53 - 1'})
  end
  return n
end

-- Currency soft thresholds: each percent (comma-separated) of the currency limit that the cycle's
-- recorded spend has reached is marked once per cycle (`threshold:usd:P` = the spend then) and
-- appends one event (`limit_kind` usd; `used` and `limit` in nano-USD). Fired by reserve.lua on the
-- recorded spend, and by record.lua and settle.lua on the spend after the event they applied.
local function usd_thresholds(cycle, events, user, cycle_name, percents, spent, limit_usd)
  if limit_usd == nil or spent <= 0 or percents == nil then return end
  for percent in string.gmatch(percents, '%d+') do
    if spent * 100 >= tonumber(percent) * limit_usd
      and redis.call('HSETNX', cycle, 'threshold:usd:' .. percent, decimal(spent)) == 1 then
      redis.call('XADD', events, 'MAXLEN', '~', 10000, '*',
        'type', 'threshold', 'user', user, 'cycle', cycle_name, 'threshold', percent, 'limit_kind', 'usd',
        'used', decimal(spent), 'limit', decimal(limit_usd))
    end
  end
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

-- The event's money at args[first], args[first + 1]: its cost in nano-USD as the caller priced it
-- when the event was first built (-1 = unpriced: the model has no price) and the provider-reported
-- cost in nano-USD (-1 = not reported), each an integer from -1 to 2^53 - 1. Raises BADINPUT naming
-- the bad one, before any write.
local function cost_args(args, first)
  local cost, reported = tonumber(args[first]), tonumber(args[first + 1])
  if not cost or cost % 1 ~= 0 or cost < -1 or cost > MAX_COUNTER then
    error({err = 'BADINPUT cost_nano must be an integer from -1 (unpriced) to 2^53 - 1'})
  end
  if not reported or reported % 1 ~= 0 or reported < -1 or reported > MAX_COUNTER then
    error({err = 'BADINPUT reported_cost_nano must be an integer from -1 (not reported) to 2^53 - 1'})
  end
  return cost, reported
end

-- A cost as the history's JSON writes it (USD with nine decimals, "3.960000000") <-> nano-USD.
-- usd_nano returns nil for anything else (JSON null included); both exact below 2^53.
local function usd_nano(text)
  if type(text) ~= 'string' or not string.match(text, '^%d+%.%d%d%d%d%d%d%d%d%d$') then return nil end
  local n = tonumber((string.gsub(text, '%.', '')))
  if n == nil or n > MAX_COUNTER then return nil end
  return n
end

local function nano_usd(n)
  local whole = math.floor(n / 1000000000)
  local fraction = n - whole * 1000000000
  if fraction < 0 then whole, fraction = whole - 1, fraction + 1000000000 end
  if fraction >= 1000000000 then whole, fraction = whole + 1, fraction - 1000000000 end
  return format('%d.%09d', whole, fraction)
end

-- The cycle's tokens so far: input + output (the total is derived, not stored).
local function cycle_used(cycle)
  local v = redis.call('HMGET', cycle, 'input_tokens', 'output_tokens')
  return stored(v[1], cycle, 'input_tokens') + stored(v[2], cycle, 'output_tokens')
end

-- A call applied to a cycle that rollover already closed: kept in the user's `late:<cycle>` hash
-- (call id -> the adjustment as JSON, integers only) until the caller (or the next rollover) has
-- amended the {global} history with it, and announced on the user's event stream.
-- The event's cost rides along (`cost_nano`: nano-USD, -1 unpriced; `reported_cost_nano`: -1 not
-- reported); both are left out when the caller sent none (the legacy import).
local function late_adjustment(late, events, user, cycle_name, call_id, model, input_n, output_n, cached, cache_write,
    reasoning, cost, reported)
  local at = now_ms()
  if cached < 0 then cached = 0 end
  if cache_write < 0 then cache_write = 0 end
  if reasoning < 0 then reasoning = 0 end
  local money = ''
  if cost then money = format(',"cost_nano":%d,"reported_cost_nano":%d', cost, reported) end
  redis.call('HSET', late, call_id, format(
    '{"at":%d,"cache_write_tokens":%d,"cached_input_tokens":%d,"call_id":%s,"input_tokens":%d,"model":%s,'
      .. '"output_tokens":%d,"reasoning_tokens":%d%s}',
    at, cache_write, cached, cjson.encode(call_id), input_n, cjson.encode(model), output_n, reasoning, money))
  redis.call('XADD', events, 'MAXLEN', '~', 10000, '*', 'type', 'adjustment', 'user', user, 'cycle', cycle_name,
    'call_id', call_id, 'delta_tokens', decimal(input_n + output_n), 'at', decimal(at))
end

-- The derived {global} index of a cycle is written by the client, not here (another slot). The
-- cycle hash says whether this user's cycle is in it: `index:done` = 1 (set by index_mark.lua once
-- index.lua succeeded), else `index:claim` = when (server ms) a record last asked a client to write
-- it. A claim younger than INDEX_CLAIM_MS keeps concurrent records from asking again; one left by a
-- client that crashed before index_mark.lua expires, and the next record asks again.
local INDEX_CLAIM_MS = 10000

-- Whether a record should ask its client for the index write, claiming it (an HSET of
-- `index:claim`) when it does. `indexed` comes from apply_usage; a cycle hash with no calls (a
-- duplicate of a reset cycle) is not asked for, so the claim never creates a hash of its own.
local function index_due(cycle, indexed, calls)
  if indexed or calls == 0 then return 0 end
  redis.call('HSET', cycle, 'index:claim', decimal(now_ms()))
  return 1
end

-- Whether a cycle is folded (docs/schema.md, "Closed cycles past the window"): rollover deleted its
-- cycle hash and recorded the cycle in the profile's `folded` field (`folded_through`, the latest
-- folded cycle of the scope; calls_drop.lua), so a cycle at or before it whose hash is gone (no
-- `history:state`, no `calls`) is folded, while one still closed (late calls were pending when a
-- later cycle folded) or counting keeps its hash; a folded cycle that an administrator applied a
-- parked event to anyway has `history:state` = 'folded'. Builds before this layout marked a
-- folded cycle (or, before folding, one whose call ids they dropped) with the cycle hash field
-- `calls:dropped` instead: `dropped`, still honoured until rollover folds the cycle anew. `state`,
-- `calls` and `dropped` are the cycle hash's fields, `cycle_name` the cycle (nil: not known, only the
-- marks count).
local function is_folded(state, calls, dropped, cycle_name, folded_through)
  if state == 'folded' or dropped then return true end
  if state or calls or not folded_through or not cycle_name then return false end
  return cycle_name <= folded_through
end

-- Adds one call's usage to the cycle unless its call id was already recorded there.
--
-- Call ids are stored as fingerprints (schema version 2, see docs/schema.md "Call ids"): `calls` is the
-- bucket hash of the call (`calls:<D>:<bucket>`) and `field` its 96-bit field (12 bytes), both computed
-- by the caller from the SHA-256 of the call id (CallFingerprint.swift); `call_id` itself is kept only
-- in a late adjustment. Without `field` (nil) the call id is the field (schema version 1's layout).
-- A cycle that rollover folded (its call ids and counters dropped, the dedupe window passed; see
-- is_folded) can no longer tell a new call from a replay: nothing is written and the sixth value
-- returned is true (the caller parks the event), unless `force` (an administrator applies a parked
-- event knowingly): then it is a late call of the closed cycle, and the cycle hash it creates is
-- marked `history:state` = 'folded' (readers keep taking the cycle from its summary, and the next
-- rollover folds it again). `folded_through` is the profile's `folded` field (profile_check).
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
-- cycle; without one (limit nil) the last seven arguments may be nil.
-- The money is the event's cost and reported cost from cost_args (nano-USD, -1 = unpriced / not
-- reported): the same HMGET reads, and the same HSET writes, the cycle's `cost_nano` (sum of
-- priced events), `unpriced_calls` and, for other models than the primary, `m:cost_nano:MODEL` and
-- `m:unpriced_calls:MODEL` (the primary's are derived as for tokens); a reported cost adds to
-- `reported_cost_nano` (one more HSET, only then). cost nil (the legacy import) writes no cost field,
-- so such a cycle's cost reads as unknown (null).
-- The arguments are positional, not a table: building a table per event cost Redis ~4 %.
-- A cycle that rollover closed (field `history:state` = 'closed') is still counted (the call
-- happened), and the call also becomes a pending adjustment of the closed cycle's history (hash
-- `late`, see late_adjustment), which the caller then applies to the {global} history.
-- Returns whether it applied (false: a duplicate or parked), the cycle's used tokens and its calls after
-- the call, whether it amends a closed cycle, whether the user's cycle is in the cycle's
-- derived index or a record asked for it lately (`index:done`, `index:claim`, see index_due; read by
-- the same HMGET, so the steady state costs nothing), whether it was parked (the dedupe window
-- passed), and (applied, cost given) the cycle's recorded spend in nano-USD after the call (nil
-- otherwise). Raises OVERFLOW, before any write, when the total tokens, the cost or the reported
-- cost would pass 2^53 - 1 (nano-USD: about $9.0M per user and cycle).
local function apply_usage(cycle, calls, call_id, model, input_n, output_n, cached, cache_write, reasoning,
    limit, percents, events, user, cycle_name, late_key, cost, reported, field, force, folded_through)
  local total = input_n + output_n
  field = field or call_id
  -- The same one HMGET also reads the counters HINCRBY adds to, so every stored value is checked
  -- before the first write, and the closed mark (`history:state`).
  local current = redis.call('HMGET', cycle, 'input_tokens', 'output_tokens', 'calls', 'model:primary',
    'cached_input_tokens', 'cache_write_tokens', 'reasoning_tokens', 'history:state', 'index:done',
    'index:claim', 'cost_nano', 'unpriced_calls', 'reported_cost_nano', 'calls:dropped')
  local indexed = current[9] ~= false
    or (current[10] ~= false and now_ms() - (tonumber(current[10]) or 0) < INDEX_CLAIM_MS)
  local input = stored(current[1], cycle, 'input_tokens') + input_n
  local output = stored(current[2], cycle, 'output_tokens') + output_n
  local count = stored(current[3], cycle, 'calls')
  if cached > 0 then stored(current[5], cycle, 'cached_input_tokens') end
  if cache_write > 0 then stored(current[6], cycle, 'cache_write_tokens') end
  if reasoning > 0 then stored(current[7], cycle, 'reasoning_tokens') end
  local used = input + output
  local folded = is_folded(current[8], current[3], current[14], cycle_name, folded_through)
  if folded and not force then return false, used - total, count, false, true, true end
  local cost_total, unpriced, reported_total = 0, 0, 0
  if cost then
    cost_total = stored(current[11], cycle, 'cost_nano')
    unpriced = stored(current[12], cycle, 'unpriced_calls')
    if cost >= 0 then cost_total = cost_total + cost else unpriced = unpriced + 1 end
    if reported >= 0 then reported_total = stored(current[13], cycle, 'reported_cost_nano') + reported end
  end
  if used > MAX_COUNTER or cost_total > MAX_COUNTER or reported_total > MAX_COUNTER then
    if redis.call('HEXISTS', calls, field) == 1 then return false, used - total, count, false, indexed end
    if used > MAX_COUNTER then error({err = 'OVERFLOW the cycle total would pass 2^53 - 1 tokens'}) end
    error({err = 'OVERFLOW the cycle cost would pass 2^53 - 1 nano-USD'})
  end
  local late = current[8] == 'closed' or folded
  if late then
    -- Rare: the pending adjustment is the first write, so a refused one (ACL) leaves nothing behind.
    if redis.call('HEXISTS', calls, field) == 1 then return false, used - total, count, false, indexed end
    late_adjustment(late_key, events, user, cycle_name, call_id, model, input_n, output_n, cached, cache_write, reasoning,
      cost, reported)
    if folded and current[8] ~= 'folded' then redis.call('HSET', cycle, 'history:state', 'folded') end
  end
  if redis.call('HSETNX', calls, field, decimal(total)) == 0 then
    return false, used - total, count, false, indexed
  end
  count = count + 1
  local counted = decimal(count)
  -- Without cost (the legacy import) the cost pairs repeat the calls pair: the same HSET, no cost field.
  local cf, cv, uf, uv = 'calls', counted, 'calls', counted
  if cost then cf, cv, uf, uv = 'cost_nano', decimal(cost_total), 'unpriced_calls', decimal(unpriced) end
  local primary = current[4]
  if primary == model then
    redis.call('HSET', cycle, 'input_tokens', decimal(input), 'output_tokens', decimal(output), 'calls', counted,
      cf, cv, uf, uv)
  elseif primary == false and count == 1 then
    redis.call('HSET', cycle, 'input_tokens', decimal(input), 'output_tokens', decimal(output), 'calls', counted,
      'model:primary', model, cf, cv, uf, uv)
  else
    local mi, mo, mc = 'm:input_tokens:' .. model, 'm:output_tokens:' .. model, 'm:calls:' .. model
    local mk, mu = 'm:cost_nano:' .. model, 'm:unpriced_calls:' .. model
    local m = redis.call('HMGET', cycle, mi, mo, mc, mk, mu)
    local m_input, m_output, m_calls = stored(m[1], cycle, mi), stored(m[2], cycle, mo), stored(m[3], cycle, mc)
    local mcf, mcv, muf, muv = mc, decimal(m_calls + 1), mc, decimal(m_calls + 1)
    if cost then
      local m_cost, m_unpriced = stored(m[4], cycle, mk), stored(m[5], cycle, mu)
      if cost >= 0 then m_cost = m_cost + cost else m_unpriced = m_unpriced + 1 end
      mcf, mcv, muf, muv = mk, decimal(m_cost), mu, decimal(m_unpriced)
    end
    redis.call('HSET', cycle, 'input_tokens', decimal(input), 'output_tokens', decimal(output), 'calls', counted,
      mi, decimal(m_input + input_n), mo, decimal(m_output + output_n), mc, decimal(m_calls + 1), cf, cv, uf, uv,
      mcf, mcv, muf, muv)
  end
  if cached > 0 then redis.call('HINCRBY', cycle, 'cached_input_tokens', cached) end
  if cache_write > 0 then redis.call('HINCRBY', cycle, 'cache_write_tokens', cache_write) end
  if reasoning > 0 then redis.call('HINCRBY', cycle, 'reasoning_tokens', reasoning) end
  if cost and reported >= 0 then redis.call('HSET', cycle, 'reported_cost_nano', decimal(reported_total)) end
  if limit ~= nil and used > 0 then
    for percent in string.gmatch(percents, '%d+') do
      if used * 100 >= tonumber(percent) * limit and redis.call('HSETNX', cycle, 'threshold:' .. percent, used) == 1 then
        redis.call('XADD', events, 'MAXLEN', '~', 10000, '*',
          'type', 'threshold', 'user', user, 'cycle', cycle_name, 'threshold', percent,
          'used', used, 'limit', limit)
      end
    end
  end
  return true, used, count, late, indexed, false, cost and cost_total or nil
end

-- The call's fingerprint field (ARGV of record.lua and settle.lua): 12 bytes, else BADINPUT.
local function fingerprint_arg(value)
  if type(value) ~= 'string' or #value ~= 12 then
    error({err = 'BADINPUT the call fingerprint must be 12 bytes (the caller computes it from the call id)'})
  end
  return value
end

-- A rate limit: the profile's value (checked: 1 to 2^53 - 1), else the default argument when it is a
-- positive integer; nil = none.
local function rate_limit(value, profile, field, default)
  if value then
    local n = stored(value, profile, field)
    if n < 1 then bad_state(profile, field, value, ', not a positive rate limit') end
    return n
  end
  local fallback = tonumber(default)
  if fallback and fallback >= 1 and fallback % 1 == 0 then return fallback end
  return nil
end

-- Reads the profile's policy, limits and groups in one call; checks the policy the caller assumed.
-- Returns the stored policy when it differs (nil when it matches), the effective token limit, the
-- last cycle retention deleted (`retired`, a cycle name; nil when none) and the effective currency
-- limit in nano-USD (the profile's `limit_usd_nano`, else `default_limit_usd` when given and >= 0;
-- nil = none), and (when the policy matches) the user's team and org ('' = none) that record.lua
-- and settle.lua return, so booking a write to its groups costs no read of its own, then the
-- effective rate limits (`tpm`, `rpm`: the profile's, else the defaults given; nil = none) and the
-- latest cycle rollover folded (`folded`, a cycle name; nil when none, see is_folded), read by the
-- same HMGET.
local function profile_check(profile, assumed, default_limit, default_limit_usd, default_tpm, default_rpm)
  local v = redis.call('HMGET', profile, 'policy', 'limit', 'retired', 'limit_usd_nano', 'team', 'org', 'tpm', 'rpm',
    'folded')
  local policy = v[1] or ''
  local limit
  if v[2] then
    limit = stored(v[2], profile, 'limit')  -- a corrupt limit is BADSTATE, never "unlimited"
  else
    local fallback = tonumber(default_limit)
    if fallback and fallback >= 0 then limit = fallback end
  end
  local limit_usd
  if v[4] then
    limit_usd = stored(v[4], profile, 'limit_usd_nano')
  else
    local fallback = tonumber(default_limit_usd)
    if fallback and fallback >= 0 then limit_usd = fallback end
  end
  if assumed ~= '*' and policy ~= assumed then return policy, limit, v[3] or nil, limit_usd end
  return nil, limit, v[3] or nil, limit_usd, v[5] or '', v[6] or '', rate_limit(v[7], profile, 'tpm', default_tpm),
    rate_limit(v[8], profile, 'rpm', default_rpm), v[9] or nil
end

-- Rate limits (docs/quota.md, "Rate limits"): a sliding-window log per scope over the last 60 s of
-- the server's clock. `rate` is a sorted set (entry id -> ms when charged), `rate_tokens` a hash
-- (entry id -> tokens charged; the field '' holds their sum: no call id is empty). An entry charged at
-- s is in the window while now - s < 60000. The scripts touch these keys only when a rate limit
-- applies to the scope, so a scope without one pays nothing; each charge sets both keys to expire a
-- little after the window, so an idle scope (or one whose limit was cleared) leaves nothing behind.
local RATE_WINDOW_MS = 60000
local RATE_PAGE = 1000

-- Drops the entries that left the window (in pages: unpack is bounded) and returns the tokens and the
-- requests in the window. Every amount is checked before the first write (BADSTATE).
local function rate_trim(rate, rate_tokens, now)
  local cutoff = now - RATE_WINDOW_MS
  local sum = stored(redis.call('HGET', rate_tokens, ''), rate_tokens, '')
  while true do
    local gone = redis.call('ZRANGEBYSCORE', rate, '-inf', cutoff, 'LIMIT', 0, RATE_PAGE)
    if #gone == 0 then break end
    local amounts = redis.call('HMGET', rate_tokens, unpack(gone))
    local freed = 0
    for i = 1, #gone do freed = freed + stored(amounts[i], rate_tokens, gone[i]) end
    if freed > sum then bad_state(rate_tokens, '', sum, ', less than its expired entries (' .. freed .. ')') end
    sum = sum - freed
    redis.call('ZREM', rate, unpack(gone))
    redis.call('HDEL', rate_tokens, unpack(gone))
    redis.call('HSET', rate_tokens, '', decimal(sum))
    if #gone < RATE_PAGE then break end
  end
  return sum, redis.call('ZCARD', rate)
end

-- The tokens and the requests in the window without writing (check.lua).
local function rate_live(rate, rate_tokens, now)
  local cutoff = now - RATE_WINDOW_MS
  local sum = stored(redis.call('HGET', rate_tokens, ''), rate_tokens, '')
  local offset = 0
  while true do
    local gone = redis.call('ZRANGEBYSCORE', rate, '-inf', cutoff, 'LIMIT', offset, RATE_PAGE)
    if #gone == 0 then break end
    local amounts = redis.call('HMGET', rate_tokens, unpack(gone))
    for i = 1, #gone do sum = sum - stored(amounts[i], rate_tokens, gone[i]) end
    if #gone < RATE_PAGE then break end
    offset = offset + RATE_PAGE
  end
  if sum < 0 then bad_state(rate_tokens, '', sum, ', less than its expired entries') end
  return sum, redis.call('ZCOUNT', rate, '(' .. cutoff, '+inf')
end

-- Whether `tokens` more in one more request fit the window (`sum` tokens, `count` requests now) under
-- `tpm` and `rpm` (nil = none). Returns nil when they fit, else the limit that refuses ('tpm' checked
-- first, then 'rpm') and the ms until the request would fit (when enough of the window has expired for
-- every limit that refuses), or -1 when it never fits (more tokens than the tpm limit itself).
local function rate_denial(rate, rate_tokens, now, sum, count, tokens, tpm, rpm)
  local cutoff = now - RATE_WINDOW_MS
  local kind, wait = nil, 0
  if tpm and sum + tokens > tpm then
    kind = 'tpm'
    if tokens > tpm then return kind, -1 end
    -- Oldest first: the entry whose expiry frees enough tokens.
    local need, freed, offset = sum + tokens - tpm, 0, 0
    wait = -1
    while wait < 0 do
      local page = redis.call('ZRANGEBYSCORE', rate, '(' .. cutoff, '+inf', 'WITHSCORES', 'LIMIT', offset, RATE_PAGE)
      if #page == 0 then bad_state(rate_tokens, '', sum, ', more than its entries') end
      local ids = {}
      for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
      local amounts = redis.call('HMGET', rate_tokens, unpack(ids))
      for i = 1, #ids do
        freed = freed + stored(amounts[i], rate_tokens, ids[i])
        if freed >= need then
          wait = tonumber(page[2 * i]) + RATE_WINDOW_MS - now
          break
        end
      end
      offset = offset + RATE_PAGE
    end
  end
  if rpm and count + 1 > rpm then
    kind = kind or 'rpm'
    -- The (count + 1 - rpm)-th oldest entry must leave.
    local entry = redis.call('ZRANGEBYSCORE', rate, '(' .. cutoff, '+inf', 'WITHSCORES', 'LIMIT', count - rpm, 1)
    local rpm_wait = entry[2] and (tonumber(entry[2]) + RATE_WINDOW_MS - now) or 1
    if rpm_wait > wait then wait = rpm_wait end
  end
  if kind then
    if wait < 1 then wait = 1 end
    return kind, wait
  end
  return nil
end

-- Sets both rate keys to expire a little after the last charge's window.
local function rate_keep(rate, rate_tokens)
  redis.call('PEXPIRE', rate, RATE_WINDOW_MS + 1000)
  redis.call('PEXPIRE', rate_tokens, RATE_WINDOW_MS + 1000)
end

-- Charges `tokens` (one request) to the window now under entry `id`. An entry of `id` still in the
-- window (a lease that expired, reserved again) is replaced, its tokens and its time: the call is one
-- request, charged once. `sum` is the window's tokens from rate_trim. Returns the sum after.
local function rate_charge(rate, rate_tokens, id, tokens, now, sum)
  local charged = redis.call('HGET', rate_tokens, id)
  local before = charged and stored(charged, rate_tokens, id) or 0
  local after = sum - before + tokens
  if after > MAX_COUNTER then error({err = 'OVERFLOW the rate window would pass 2^53 - 1 tokens'}) end
  redis.call('ZADD', rate, now, id)
  redis.call('HSET', rate_tokens, id, decimal(tokens), '', decimal(after))
  rate_keep(rate, rate_tokens)
  return after
end

-- Reads the window of a write that may charge it, before the write's first change (record.lua,
-- settle.lua): drops what left the window and checks every stored amount, the call's own entry `id`
-- included, so a damaged window is refused (BADSTATE) before any usage is counted. Returns the sum.
local function rate_prepare(rate, rate_tokens, id, now)
  local sum = rate_trim(rate, rate_tokens, now)
  local charged = redis.call('HGET', rate_tokens, id)
  if charged then stored(charged, rate_tokens, id) end
  return sum
end

-- Corrects entry `id` to `actual` tokens at settle: an entry still in the window is set to the actual
-- tokens (the difference added or returned at once, its time kept); without one (it left the window,
-- or the limit was set after the reservation) the tokens above the lease's `estimate` are charged now
-- and nothing is returned; `estimate` -1 (no lease) charges all of them, as one request. `sum` is the
-- window's tokens from rate_prepare, which the same script ran before its usage write.
local function rate_settle(rate, rate_tokens, id, actual, estimate, now, sum)
  local charged = redis.call('HGET', rate_tokens, id)
  if charged then
    local before = stored(charged, rate_tokens, id)
    if sum - before + actual > MAX_COUNTER then error({err = 'OVERFLOW the rate window would pass 2^53 - 1 tokens'}) end
    redis.call('HSET', rate_tokens, id, decimal(actual), '', decimal(sum - before + actual))
  elseif actual > estimate then
    rate_charge(rate, rate_tokens, id, actual - math.max(estimate, 0), now, sum)
  end
end

-- Returns entry `id`'s charge (a released lease: the call was denied elsewhere, failed or was
-- cancelled). Writes nothing when there is no such entry, so a scope without a rate limit gets no key.
local function rate_return(rate, rate_tokens, id, now)
  if not redis.call('HGET', rate_tokens, id) then return end
  local sum = rate_trim(rate, rate_tokens, now)
  local charged = redis.call('HGET', rate_tokens, id)
  if not charged then return end
  local tokens = stored(charged, rate_tokens, id)
  if tokens > sum then bad_state(rate_tokens, '', sum, ', less than the entry of ' .. id .. ' (' .. tokens .. ')') end
  redis.call('ZREM', rate, id)
  redis.call('HDEL', rate_tokens, id)
  redis.call('HSET', rate_tokens, '', decimal(sum - tokens))
end
