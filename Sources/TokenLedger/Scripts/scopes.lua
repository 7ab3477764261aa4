-- scopes.lua: the groups (team, org) a user's write is booked to, read in the user's slot beside the
-- write, so a user without groups costs no extra round trip. A call whose lease is live keeps the groups
-- its lease was taken in (lease-scopes, written by reserve.lua); any other call takes the profile's.
-- KEYS: 1 profile, 2 lease-scopes, 3 leases
-- ARGV: 1 call id, 2 'read' | 'forget' (drops the call's lease-scopes entry once every group is booked)
-- Returns {team, org, source} ('' = none; source 'lease' when the groups came from a lease's entry,
-- 'profile' otherwise) | 1 for 'forget'
if ARGV[2] == 'forget' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
local taken = redis.call('HGET', KEYS[2], ARGV[1])
if taken then
  local team, org = scope_entry(taken)
  return {team, org, 'lease'}
end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 1 then return {'', '', 'lease'} end
local member = redis.call('HMGET', KEYS[1], 'team', 'org')
return {member[1] or '', member[2] or '', 'profile'}
