-- apikey_revoke.lua: removes an API key by name: its record (so its secret stops authenticating at
-- once) and its name, both or neither.
-- KEYS: 1 apikeys (key id -> record), 2 apikey-names (name -> key id); both under {global}
-- ARGV: 1 name
-- Returns 1 when the key existed, 0 when no key has that name (nothing changed).
local id = redis.call('HGET', KEYS[2], ARGV[1])
if not id then return 0 end
redis.call('HDEL', KEYS[1], id)
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
