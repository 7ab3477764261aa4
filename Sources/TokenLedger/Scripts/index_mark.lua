-- index_mark.lua: ends the index write a record claimed (see index_due in common.lua). 'done' (the
-- client ran index.lua successfully) marks the user's cycle as listed in the cycle's derived
-- {global} index (`index:done` = 1), so later records stop asking; 'release' (index.lua failed)
-- expires the claim (`index:claim` = 0), so the user's next record asks again. A client that
-- crashes in between runs neither: the claim expires by itself and a later record asks again.
-- A cycle hash without counters (gone after a reset or retention) is not recreated. Only HEXISTS
-- and HSET on the cycle hash: the application's least-privilege ACL user already has both.
-- KEYS: 1 cycle
-- ARGV: 1 'done' | 'release'
-- Returns 1 when the cycle hash has counters (and was updated), 0 otherwise
if ARGV[1] ~= 'done' and ARGV[1] ~= 'release' then
  return redis.error_reply('BADINPUT index_mark takes done or release')
end
if redis.call('HEXISTS', KEYS[1], 'calls') == 0 then return 0 end
if ARGV[1] == 'done' then
  redis.call('HSET', KEYS[1], 'index:done', '1', 'index:claim', '0')
else
  redis.call('HSET', KEYS[1], 'index:claim', '0')
end
return 1
