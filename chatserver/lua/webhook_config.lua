-- Add or remove a site's webhook endpoint. Adding turns the site's feed on and starts the
-- endpoint at the feed's present end (read in this step: no event is missed or sent twice);
-- removing the last one turns the feed off.
-- KEYS: 1 webhooks hash, 2 site hash, 3 feed stream, 4 endpoint state, 5 lease, 6 dead letters
-- ARGV: 1 op (add|remove), 2 endpoint id, 3 its settings (JSON; add only)
local hooks_key, site_key, feed_key = KEYS[1], KEYS[2], KEYS[3]
local state_key, lease_key, dead_key = KEYS[4], KEYS[5], KEYS[6]
local op, endpoint_id, settings = ARGV[1], ARGV[2], ARGV[3]
if op == 'add' then
  if redis.call('HSETNX', hooks_key, endpoint_id, settings) == 0 then return {'err', 'exists'} end
  local last = redis.call('XREVRANGE', feed_key, '+', '-', 'COUNT', 1)
  local cursor = last[1] and last[1][1] or '0-0'
  redis.call('DEL', state_key, lease_key, dead_key)
  redis.call('HSET', state_key, 'cursor', cursor, 'delivered', 0, 'failures', 0, 'dead', 0,
    'attempts', 0, 'failing_since', '')
  redis.call('HSET', site_key, 'feed', '1')
  return {'ok', cursor}
end
if redis.call('HDEL', hooks_key, endpoint_id) == 0 then return {'err', 'not_found'} end
redis.call('DEL', state_key, lease_key, dead_key)
if redis.call('HLEN', hooks_key) == 0 then redis.call('HSET', site_key, 'feed', '0') end
return {'ok'}
