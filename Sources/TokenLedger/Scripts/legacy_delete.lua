-- legacy_delete.lua: deletes one hash of the seed's layout after its import, but only while it
-- still holds exactly what was imported and nothing else (a hash a seed process wrote to since,
-- or one with fields the import did not read, is kept).
-- KEYS: 1 token_usage:<user>:<date>
-- ARGV: 1 prompt_tokens, 2 completion_tokens, 3 total_tokens, 4 usage_limit ('' = absent)
-- Returns 1 when deleted, 0 when it changed (or is gone).
local fields = {'prompt_tokens', 'completion_tokens', 'total_tokens', 'usage_limit'}
local expected = 0
for i = 1, 4 do
  if ARGV[i] ~= '' then expected = expected + 1 end
end
if redis.call('HLEN', KEYS[1]) ~= expected then return 0 end
for i, field in ipairs(fields) do
  local stored = redis.call('HGET', KEYS[1], field) or ''
  if stored ~= ARGV[i] then return 0 end
end
return redis.call('DEL', KEYS[1])
