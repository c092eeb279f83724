-- Drop an index entry whose visitor record is gone (it expired): the site's verified-users
-- map (user id -> visitor id) or its e-mail index (e-mail -> visitor ids). Re-checked here,
-- so an entry that a sign-in pointed at a live record meanwhile stays.
-- KEYS: 1 the index hash, 2 the visitor hash the entry names
-- ARGV: 1 the entry's field, 2 the visitor id, 3 'users' or 'emails'
local index_key, visitor_key = KEYS[1], KEYS[2]
local field, visitor_id, kind = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', visitor_key) == 1 then return 0 end
local value = redis.call('HGET', index_key, field)
if not value then return 0 end
if kind == 'users' then
  if value ~= visitor_id then return 0 end
  redis.call('HDEL', index_key, field)
  return 1
end
local kept = {}
for id in string.gmatch(value, '%S+') do
  if id ~= visitor_id then kept[#kept + 1] = id end
end
if #kept > 0 then redis.call('HSET', index_key, field, table.concat(kept, ' '))
else redis.call('HDEL', index_key, field) end
return 1
