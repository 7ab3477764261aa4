-- lock.lua: a namespace-wide lock with an expiry (SET NX PX), owned by a random token. Only its
-- owner extends or releases it; a crashed owner's lock expires by itself.
-- KEYS: 1 lock
-- ARGV: 1 'acquire' | 'extend' | 'release', 2 owner token, 3 ttl ms (acquire, extend)
-- Returns 1 when done; 0 when another owner holds the lock (or, for extend and release, it is gone).
local op, token = ARGV[1], ARGV[2]
if op == 'acquire' or op == 'extend' then
  local ttl = tonumber(ARGV[3])
  if ttl == nil or ttl <= 0 or ttl ~= math.floor(ttl) then
    return redis.error_reply('BADINPUT the lock ttl must be a positive number of milliseconds')
  end
end
if op == 'acquire' then
  if redis.call('SET', KEYS[1], token, 'NX', 'PX', ARGV[3]) then return 1 end
  return 0
end
if redis.call('GET', KEYS[1]) ~= token then return 0 end
if op == 'extend' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
if op == 'release' then
  redis.call('DEL', KEYS[1])
  return 1
end
return redis.error_reply('BADINPUT unknown lock operation ' .. tostring(op))
