-- Delete a label of the site with its name key. Conversations that hold its id keep it
-- until they are next labelled (label_set.lua drops unknown ids); every reader resolves ids
-- against the site's labels, so a deleted one is never shown, filtered or counted.
-- KEYS: 1 the site's labels (hash id -> JSON), 2 their name keys (hash key -> id)
-- ARGV: 1 label id
-- Returns 1 when it was deleted, 0 when there was no such label.
local labels_key, names_key = KEYS[1], KEYS[2]
local label_id = ARGV[1]
local old = redis.call('HGET', labels_key, label_id)
if not old then return 0 end
local ok, prev = pcall(cjson.decode, old)
if ok and type(prev) == 'table' and prev.key
    and redis.call('HGET', names_key, prev.key) == label_id then
  redis.call('HDEL', names_key, prev.key)
end
redis.call('HDEL', labels_key, label_id)
return 1
