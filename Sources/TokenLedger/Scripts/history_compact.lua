-- history_compact.lua: rewrites closed cycles' summaries in their compact form (CycleSummary+Compact.swift)
-- once the dedupe window has passed, each only if it still holds the text the caller read (a late
-- call that amended it meanwhile keeps the full form; the next run compacts it).
-- KEYS: 1 history:D (or a group kind's scope-history:KIND:D)
-- ARGV: triples: id, the summary as read, its compact form
-- Returns the number of summaries rewritten.
local rewritten = 0
for i = 1, #ARGV - 2, 3 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    rewritten = rewritten + 1
  end
end
return rewritten
