-- Create a label of the site, or rename / recolour one, in one step: the site's count limit
-- and the uniqueness of names (by their folded key, chatserver/core/labels.py name_key) are
-- checked where they are written, so two admins saving at once cannot both pass.
-- KEYS: 1 the site's labels (hash id -> JSON {name, color, key}), 2 their name keys (hash
--       key -> id)
-- ARGV: 1 label id, 2 'create' | 'update', 3 the label's record (JSON), 4 its name key,
--       5 the most labels a site has
-- Returns {'ok'} or {'err', code}: not_found (update of no such label), duplicate (another
-- label has the name), too_many (create past the limit).
local labels_key, names_key = KEYS[1], KEYS[2]
local label_id, mode, record, name_key = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local max_labels = tonumber(ARGV[5])
local old = redis.call('HGET', labels_key, label_id)
if mode == 'update' and not old then return {'err', 'not_found'} end
if mode == 'create' and old then return {'err', 'duplicate'} end
local holder = redis.call('HGET', names_key, name_key)
if holder and holder ~= label_id then return {'err', 'duplicate'} end
if mode == 'create' and redis.call('HLEN', labels_key) >= max_labels then
  return {'err', 'too_many'}
end
if old then
  local ok, prev = pcall(cjson.decode, old)
  if ok and type(prev) == 'table' and prev.key and prev.key ~= name_key
      and redis.call('HGET', names_key, prev.key) == label_id then
    redis.call('HDEL', names_key, prev.key)
  end
end
redis.call('HSET', labels_key, label_id, record)
redis.call('HSET', names_key, name_key, label_id)
return {'ok'}
