-- A supervisor takes a conversation from the agent holding it: as their own, for another agent
-- (Event.TRANSFER), or back to a department's queue (Event.REQUEUE). A compare-and-set: it
-- applies only while the agent the supervisor saw (ARGV 6) still holds it, so of several
-- supervisors and the agent acting at once exactly one step wins (docs/protocol.md).
-- KEYS: 1 conversation hash, 2 messages stream, 3 the holder's conversations set,
--       4 target's state hash, 5 target's presence key, 6 target's conversations set,
--       7 timers zset, 8 the department's queue zset, 9 departments set, 10 audit stream,
--       11 site hash, 12 feed stream
-- ARGV: 1 conversation id, 2 now, 3 channel, 4 supervisor id, 5 supervisor name,
--       6 the holder seen, 7 target agent id ('' for the queue), 8 department,
--       9 transition map (transfer), 10 transition map (requeue), 11 reassign-if-silent
--       delay (ms), 12 audit log length
local conv_key, stream_key, holder_convs = KEYS[1], KEYS[2], KEYS[3]
local target_state, target_presence, target_convs = KEYS[4], KEYS[5], KEYS[6]
local timers_key, queue_key, departments_key, audit_key = KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local fk = {site = KEYS[11], feed = KEYS[12]}
local conv_id, now, channel, actor, actor_name = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local holder, target, department = ARGV[6], ARGV[7], ARGV[8]
local transfer_map, requeue_map, reassign_ms, audit_len = ARGV[9], ARGV[10], ARGV[11], ARGV[12]

local c = redis.call('HMGET', conv_key, 'status', 'agent', 'visitor', 'unanswered_since',
  'agent_name', 'joined')
if not c[1] then return {'err', 'not_found'} end
if not is_open(c[1]) then return {'err', 'closed', c[1]} end
if (c[2] or '') == '' then return {'err', 'conflict', 'queued'} end
if c[2] ~= holder then return {'err', 'conflict', c[2]} end
if target == holder then return {'err', 'conflict', holder} end
local holder_name = c[5] or ''

local function audit(detail)
  redis.call('XADD', audit_key, 'MAXLEN', '~', audit_len, '*', 'ts', now, 'actor', actor,
    'name', actor_name, 'action', 'take_over', 'conv', conv_id, 'detail', detail)
end

if target == '' then
  local status_to = transition(requeue_map, c[1])
  if not status_to then return {'err', 'closed', c[1]} end
  local label = department ~= '' and department or 'the team'
  system_message(conv_key, stream_key, channel, conv_id, 'taken_over', actor, actor_name,
    actor_name .. ' took the chat from ' .. holder_name .. ' back to ' .. label, now)
  change_department(conv_key, timers_key, conv_id, department, now)
  redis.call('HSET', conv_key, 'joined', '')
  redis.call('SADD', departments_key, department)
  local id = requeue(conv_key, queue_key, holder_convs, stream_key, channel, conv_id, holder,
    status_to, now, 'requeued', actor_name .. ' transferred the chat to ' .. label ..
    '; please wait for an agent', fk, 'conversation.transferred', 'taken_over', 'taken_over')
  audit(holder .. ' -> queue ' .. department)
  return {'ok', id}
end

local status_to = transition(transfer_map, c[1])
if not status_to then return {'err', 'closed', c[1]} end
local ok, name, why = can_take(target_state, target_presence, target_convs, target == actor)
if not ok then return {'err', why} end
redis.call('SREM', holder_convs, conv_id)
redis.call('SADD', target_convs, conv_id)
redis.call('HSET', conv_key, 'status', status_to, 'agent', target, 'agent_name', name,
  'assigned_at', now)
redis.call('HSET', target_state, 'last_assigned', now)
-- Whoever takes it is no longer a second participant in it.
if c[6] and c[6] ~= '' then
  local kept = {}
  for _, pair in ipairs(cjson.decode(c[6])) do
    if pair[1] ~= target then table.insert(kept, pair) end
  end
  redis.call('HSET', conv_key, 'joined', #kept > 0 and cjson.encode(kept) or '')
end
if c[4] and c[4] ~= '' then schedule(timers_key, 'assign|' .. conv_id, now, reassign_ms) end
local told = target == actor and (actor_name .. ' took over the chat from ' .. holder_name)
  or (actor_name .. ' took the chat from ' .. holder_name .. ' for ' .. name)
system_message(conv_key, stream_key, channel, conv_id, 'taken_over', actor, actor_name, told, now)
local id = system_message(conv_key, stream_key, channel, conv_id, 'transferred', target, name,
  target == actor and (actor_name .. ' took over the chat')
    or (actor_name .. ' transferred the chat to ' .. name), now)
redis.call('PUBLISH', channel, pack_unassigned(conv_id, holder, 'taken_over'))
redis.call('PUBLISH', channel, pack_assigned(conv_id, target, name, c[3] or ''))
feed(fk, 'conversation.transferred', conv_id, now, {from_agent_id = holder, to_agent_id = target,
  department = '', note = '', by = actor})
feed(fk, 'conversation.assigned', conv_id, now, {agent_id = target, agent_name = name,
  by = 'take_over'})
audit(holder .. ' -> ' .. target)
return {'ok', id}
