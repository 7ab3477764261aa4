-- apikey_create.lua: adds an API key: its record under its id and its name's id, both or neither.
-- KEYS: 1 apikeys (key id -> record), 2 apikey-names (name -> key id); both under {global}
-- ARGV: 1 name, 2 key id, 3 record (JSON: created_at, name, role, sha256 of the secret)
-- Returns 'applied', 'exists' (the name is taken) or 'collision' (the key id is taken); nothing
-- is written unless 'applied'.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'exists' end
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return 'collision' end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 'applied'
