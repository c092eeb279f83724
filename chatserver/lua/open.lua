-- Open a conversation for a visitor and queue it, unless the visitor already has one open;
-- a visitor whose last conversation ended within the reopen window gets that one reopened.
-- KEYS: 1 visitor hash, 2 new conversation hash, 3 queue zset, 4 open zset, 5 departments set,
--       6 visitor's conversations zset, 7 timers zset, 8 last conversation hash, 9 its
--       messages stream, 10 its queue zset (8-10: any unused keys when there is none),
--       11 latency stream, 12 the site's conversations by creation time (search index),
--       13 site hash, 14 feed stream
-- ARGV: 1 conversation id, 2 visitor id, 3 site, 4 department, 5 now, 6 queue score,
--       7 channel, 8 priority, 9 visitor name, 10 offline-offer delay (ms), 11 last
--       conversation id ('' none), 12 its department, 13 reopen window (ms), 14 reopen map
local existing = redis.call('HGET', KEYS[1], 'open_conv')
if existing and existing ~= '' then return {'exists', existing} end
local now = ARGV[5]
local fk = {site = KEYS[13], feed = KEYS[14]}
local last = redis.call('HGET', KEYS[1], 'last_conv') or ''
if ARGV[11] ~= last then return {'retry'} end
if last ~= '' then
  local c = redis.call('HMGET', KEYS[8], 'status', 'ended_at', 'department', 'visitor',
    'erased_at')
  -- An erased person's conversation is never reopened (chatserver/privacy.py).
  local target = c[1] and not c[5] and transition(ARGV[14], c[1])
  if target and c[4] == ARGV[2] and tonumber(now) - tonumber(c[2] or '0') <= tonumber(ARGV[13]) then
    if (c[3] or '') ~= ARGV[12] then return {'retry'} end
    redis.call('HSET', KEYS[8], 'status', target, 'agent', '', 'agent_name', '',
      'queued_at', now, 'reopened_at', now, 'unanswered_since', '')
    redis.call('HINCRBY', KEYS[8], 'reopens', 1)
    redis.call('ZADD', KEYS[10], ARGV[6], last)
    redis.call('ZADD', KEYS[4], now, last)
    redis.call('HSET', KEYS[1], 'open_conv', last)
    schedule(KEYS[7], 'qto|' .. last, now, ARGV[10])
    system_message(KEYS[8], KEYS[9], ARGV[7], last, 'reopened', ARGV[2], ARGV[9],
      'The chat was reopened', now)
    redis.call('PUBLISH', ARGV[7], pack_opened(last, ARGV[2], c[3] or ''))
    feed(fk, 'conversation.reopened', last, now, {visitor_id = ARGV[2], department = c[3] or '',
      by = 'visitor'})
    return {'reopened', last}
  end
end
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'site', ARGV[3], 'visitor', ARGV[2],
  'department', ARGV[4], 'status', 'queued', 'priority', ARGV[8], 'created_at', now,
  'queued_at', now, 'last_id', '0-0', 'visitor_name', ARGV[9])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('SADD', KEYS[5], ARGV[4])
redis.call('ZADD', KEYS[6], now, ARGV[1])
redis.call('ZADD', KEYS[12], now, ARGV[1])
redis.call('HSET', KEYS[1], 'open_conv', ARGV[1])
redis.call('PERSIST', KEYS[1])  -- a visitor with a conversation expires only by retention
record_latency(KEYS[11], 'started', ARGV[1], '', '0', now, ARGV[4])
schedule(KEYS[7], 'qto|' .. ARGV[1], now, ARGV[10])
redis.call('PUBLISH', ARGV[7], pack_opened(ARGV[1], ARGV[2], ARGV[4]))
feed(fk, 'conversation.created', ARGV[1], now, {visitor_id = ARGV[2], department = ARGV[4],
  visitor_name = ARGV[9], priority = tonumber(ARGV[8]) or 0})
return {'ok', ARGV[1]}
