-- membership.lua: sets or clears a user's team and org (profile fields `team`, `org`), atomically.
-- KEYS: 1 profile
-- ARGV: 1 team action ('keep', 'set' or 'clear'), 2 team id, 3 org action, 4 org id (ids are validated
--       by the caller)
-- Returns {team, org} after the change ('' = none)
for i, field in ipairs({'team', 'org'}) do
  local action = ARGV[2 * i - 1]
  if action == 'clear' then
    redis.call('HDEL', KEYS[1], field)
  elseif action == 'set' then
    redis.call('HSET', KEYS[1], field, ARGV[2 * i])
  end
end
local member = redis.call('HMGET', KEYS[1], 'team', 'org')
return {member[1] or '', member[2] or ''}
