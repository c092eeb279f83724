-- An API key's use goes to the site's audit log at most once a minute (the marker's TTL),
-- whatever the number of requests or nodes: the marker and the entry are one step.
-- KEYS: 1 the key's marker string, 2 the site's audit stream
-- ARGV: 1 now (ms), 2 marker TTL (ms), 3 audit length, 4 key id, 5 key name, 6 detail
local marker_key, audit_key = KEYS[1], KEYS[2]
local now, ttl, audit_len = ARGV[1], ARGV[2], ARGV[3]
local key_id, key_name, detail = ARGV[4], ARGV[5], ARGV[6]
if not redis.call('SET', marker_key, now, 'NX', 'PX', ttl) then return 0 end
redis.call('XADD', audit_key, 'MAXLEN', '~', audit_len, '*', 'ts', now, 'actor', 'key:' .. key_id,
  'name', key_name, 'action', 'api_key_used', 'conv', '', 'detail', detail)
return 1
