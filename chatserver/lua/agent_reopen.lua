-- An agent takes an ended conversation up again as its own (Event.AGENT_REOPEN), capacity
-- checked like a claim by hand (can_take). Refused while the visitor has another open chat:
-- a visitor has at most one.
-- KEYS: 1 conversation hash, 2 messages stream, 3 open zset, 4 visitor hash,
--       5 agent state hash, 6 agent presence key, 7 agent's conversations set, 8 site hash,
--       9 feed stream
-- ARGV: 1 conversation id, 2 now, 3 channel, 4 agent id, 5 transition map (agent_reopen)
local c = redis.call('HMGET', KEYS[1], 'status', 'visitor', 'created_at', 'department')
if not c[1] then return {'err', 'not_found'} end
local target = transition(ARGV[5], c[1])
if not target then return {'err', 'conflict', c[1]} end
-- An erased person's conversation has no one left to talk to (chatserver/privacy.py).
if redis.call('HEXISTS', KEYS[1], 'erased_at') == 1 then return {'err', 'conflict', 'erased'} end
local open = redis.call('HGET', KEYS[4], 'open_conv')
if open and open ~= '' and open ~= ARGV[1] then return {'err', 'conflict', open} end
local ok, name, why = can_take(KEYS[5], KEYS[6], KEYS[7], true)
if not ok then return {'err', why} end
local now = ARGV[2]
local fk = {site = KEYS[8], feed = KEYS[9]}
redis.call('HSET', KEYS[1], 'status', target, 'agent', ARGV[4], 'agent_name', name,
  'assigned_at', now, 'reopened_at', now, 'resolved_at', '', 'unanswered_since', '')
redis.call('SADD', KEYS[7], ARGV[1])
redis.call('HSET', KEYS[5], 'last_assigned', now)
redis.call('ZADD', KEYS[3], tonumber(c[3] or now), ARGV[1])
redis.call('HSET', KEYS[4], 'open_conv', ARGV[1])
local id = system_message(KEYS[1], KEYS[2], ARGV[3], ARGV[1], 'reopened', ARGV[4], name,
  name .. ' reopened the chat', now)
-- 'o' first: the visitor's open sockets follow the conversation again (as after a visitor's
-- own reopen), then 'a' tells them and the agent who has it.
redis.call('PUBLISH', ARGV[3], pack_opened(ARGV[1], c[2] or '', c[4] or ''))
redis.call('PUBLISH', ARGV[3], pack_assigned(ARGV[1], ARGV[4], name, c[2] or ''))
feed(fk, 'conversation.reopened', ARGV[1], now, {visitor_id = c[2] or '', department = c[4] or '',
  by = 'agent'})
feed(fk, 'conversation.assigned', ARGV[1], now, {agent_id = ARGV[4], agent_name = name,
  by = 'reopen'})
return {'ok', id}
