-- One step of delivering a site's feed to one webhook endpoint (chatserver/webhooks.py).
-- Exactly one node delivers to an endpoint at a time: it holds the lease, and every step
-- that moves the endpoint's cursor checks the lease in the same atomic step, so a node that
-- lost its lease (paused, cut off) cannot move a cursor another node now owns.
-- KEYS: 1 endpoint state hash, 2 lease, 3 dead letters list
-- ARGV: 1 op (lease|done|failed|dead), 2 node id, 3 now (ms), 4 lease ttl (ms), then per op:
--       done: 5 cursor (the last event done), 6 events delivered, 7 HTTP status
--       failed: 5 HTTP status (0: no answer), 6 error
--       dead: 5 cursor (the event given up), 6 its dead-letter record (JSON)
local state_key, lease_key, dead_key = KEYS[1], KEYS[2], KEYS[3]
local op, node, now, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local holder = redis.call('GET', lease_key)
if holder and holder ~= node then return {'lost'} end
redis.call('SET', lease_key, node, 'PX', ttl)
if op == 'lease' then return {'ok'} end
if op == 'done' then
  redis.call('HSET', state_key, 'cursor', ARGV[5], 'failing_since', '', 'attempts', 0)
  if tonumber(ARGV[6]) > 0 then
    redis.call('HINCRBY', state_key, 'delivered', ARGV[6])
    redis.call('HSET', state_key, 'last_status', ARGV[7], 'last_delivery_at', now,
      'last_error', '')
  end
  return {'ok'}
end
if op == 'failed' then
  local since = redis.call('HGET', state_key, 'failing_since')
  if not since or since == '' then redis.call('HSET', state_key, 'failing_since', now) end
  redis.call('HINCRBY', state_key, 'failures', 1)
  local attempts = redis.call('HINCRBY', state_key, 'attempts', 1)
  redis.call('HSET', state_key, 'last_status', ARGV[5], 'last_error', ARGV[6],
    'last_attempt_at', now)
  return {'ok', attempts, redis.call('HGET', state_key, 'failing_since')}
end
if op == 'dead' then
  redis.call('RPUSH', dead_key, ARGV[6])
  redis.call('LTRIM', dead_key, -10000, -1)
  redis.call('HINCRBY', state_key, 'dead', 1)
  redis.call('HSET', state_key, 'cursor', ARGV[5], 'failing_since', '', 'attempts', 0)
  return {'ok'}
end
return {'err', 'unknown op'}
