-- One repair of the sweeper, re-checked atomically so that any number of nodes may sweep at
-- once: a repair whose reason is gone by now does nothing. Returns 1 if it changed anything.
-- KEYS: 1 conversation hash, 2 the set or queue to repair
-- ARGV: 1 op, 2 conversation id, 3 agent id or department, 4 queue score (enqueue)
local op, conv_id = ARGV[1], ARGV[2]
local c = redis.call('HMGET', KEYS[1], 'status', 'agent', 'department')
local status = c[1]
local open = is_open(status)
local handled = open and status ~= 'queued'
if op == 'drop_open' then  -- an ended or vanished conversation left in the open set
  if open then return 0 end
  return redis.call('ZREM', KEYS[2], conv_id)
elseif op == 'dequeue' then  -- a queue entry whose conversation is not queued there
  if status == 'queued' and (c[3] or '') == ARGV[3] then return 0 end
  return redis.call('ZREM', KEYS[2], conv_id)
elseif op == 'enqueue' then  -- a queued conversation missing from its queue
  if status ~= 'queued' or (c[3] or '') ~= ARGV[3] then return 0 end
  return redis.call('ZADD', KEYS[2], 'NX', ARGV[4], conv_id)
elseif op == 'disown' then  -- an agent's load counts a conversation it does not hold
  if handled and c[2] == ARGV[3] then return 0 end
  return redis.call('SREM', KEYS[2], conv_id)
elseif op == 'own' then  -- a conversation the agent holds is missing from its load
  if not (handled and c[2] == ARGV[3]) then return 0 end
  return redis.call('SADD', KEYS[2], conv_id)
end
return redis.error_reply('unknown repair ' .. op)
