-- Open a conversation for a visitor and queue it, unless the visitor already has one open.
-- KEYS: 1 visitor hash, 2 conversation hash, 3 queue zset, 4 open zset, 5 departments set,
--       6 visitor's conversations zset
-- ARGV: 1 conversation id, 2 visitor id, 3 site, 4 department, 5 now, 6 queue score,
--       7 channel, 8 priority, 9 visitor name
local existing = redis.call('HGET', KEYS[1], 'open_conv')
if existing and existing ~= '' then return {'exists', existing} end
local now = ARGV[5]
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'site', ARGV[3], 'visitor', ARGV[2],
  'department', ARGV[4], 'status', 'queued', 'priority', ARGV[8], 'created_at', now,
  'queued_at', now, 'last_id', '0-0', 'visitor_name', ARGV[9])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('SADD', KEYS[5], ARGV[4])
redis.call('ZADD', KEYS[6], now, ARGV[1])
redis.call('HSET', KEYS[1], 'open_conv', ARGV[1])
redis.call('PUBLISH', ARGV[7], cmsgpack.pack({'o', ARGV[1], ARGV[2], ARGV[4]}))
return {'ok', ARGV[1]}
