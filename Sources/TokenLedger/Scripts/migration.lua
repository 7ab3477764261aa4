-- migration.lua: the bookkeeping of `tokenledger migrate`, all under the namespace's {global} tag.
-- ops:
--   'schema'     KEYS: 1 schema version   ARGV: 2 version
--                Records the schema version unless one is there; returns the stored version.
--   'upgrade'    KEYS: 1 schema version   ARGV: 2 version
--                Records the schema version when none or an older one is stored; returns the stored version.
--   'checkpoint' KEYS: 1 migration state  ARGV: 2.. field, value pairs (cursor, counts)
--                Saves where an interrupted migration resumes; returns the number of fields.
--   'applied'    KEYS: 1 applied versions, 2 migration state   ARGV: 2 version, 3 record JSON
--                Marks a version applied (once) and drops its checkpoint; returns 1, or 0 if it
--                was already applied.
local op = ARGV[1]
if op == 'schema' then
  redis.call('SET', KEYS[1], ARGV[2], 'NX')
  return redis.call('GET', KEYS[1])
elseif op == 'upgrade' then
  local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
  if stored < tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[2]) end
  return redis.call('GET', KEYS[1])
elseif op == 'checkpoint' then
  for i = 2, #ARGV - 1, 2 do
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  return math.floor((#ARGV - 1) / 2)
elseif op == 'applied' then
  local added = redis.call('HSETNX', KEYS[1], ARGV[2], ARGV[3])
  redis.call('DEL', KEYS[2])
  return added
end
return redis.error_reply('BADINPUT unknown migration operation ' .. tostring(op))
