-- calls_convert.lua: moves call ids of schema version 1's `calls:D` hash (call id -> total tokens) to
-- the fingerprint buckets of schema version 2, a batch at a time (migration 3, compact-call-ids).
-- KEYS: 1 calls:D, 2… the cycle's buckets calls:D:<bucket> (in bucket order)
-- ARGV: triples: call id, the bucket's position in KEYS (2…), the 12-byte fingerprint field
-- Each call id still in KEYS[1] is written to its bucket unless the bucket already has the field (a
-- call recorded again after the upgrade keeps that entry), then deleted from KEYS[1]; a call id no
-- longer in KEYS[1] (a batch redone after a crash) is skipped.
-- Returns {moved, kept (the bucket already had it), skipped}.
local moved, kept, skipped = 0, 0, 0
for i = 1, #ARGV, 3 do
  local call_id, position, field = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  if position == nil or position < 2 or position > #KEYS or #field ~= 12 then
    error({err = 'BADINPUT calls_convert takes call id, bucket position, 12-byte field triples'})
  end
  local tokens = redis.call('HGET', KEYS[1], call_id)
  if not tokens then
    skipped = skipped + 1
  else
    if redis.call('HSETNX', KEYS[position], field, tokens) == 1 then moved = moved + 1 else kept = kept + 1 end
    redis.call('HDEL', KEYS[1], call_id)
  end
end
return {moved, kept, skipped}
