-- Hand a conversation straight to another agent (Event.TRANSFER), with an optional note that
-- only agents see. The target must be able to take it at this instant (can_take: the check
-- claim.lua makes), and the id moves between the two agents' sets in this step, so both loads
-- stay true.
-- KEYS: 1 conversation hash, 2 messages stream, 3 the holder's conversations set,
--       4 target's state hash, 5 target's presence key, 6 target's conversations set,
--       7 timers zset, 8 site hash, 9 feed stream
-- ARGV: 1 conversation id, 2 now, 3 channel, 4 holder id, 5 holder name, 6 target id,
--       7 transition map (transfer), 8 note ('' for none), 9 reassign-if-silent delay (ms)
local c = redis.call('HMGET', KEYS[1], 'status', 'agent', 'visitor', 'unanswered_since')
if not c[1] then return {'err', 'not_found'} end
if c[2] ~= ARGV[4] then return {'err', 'forbidden'} end
local target = transition(ARGV[7], c[1])
if not target then return {'err', 'closed', c[1]} end
local ok, name, why = can_take(KEYS[4], KEYS[5], KEYS[6], false)
if not ok then return {'err', why} end
local now = ARGV[2]
local fk = {site = KEYS[8], feed = KEYS[9]}
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[6], ARGV[1])
redis.call('HSET', KEYS[1], 'status', target, 'agent', ARGV[6], 'agent_name', name,
  'assigned_at', now)
redis.call('HSET', KEYS[4], 'last_assigned', now)
-- The new agent owes the waiting visitor an answer just as after an assignment.
if c[4] and c[4] ~= '' then schedule(KEYS[7], 'assign|' .. ARGV[1], now, ARGV[9]) end
local id = system_message(KEYS[1], KEYS[2], ARGV[3], ARGV[1], 'transferred', ARGV[6], name,
  ARGV[5] .. ' transferred the chat to ' .. name, now)
if ARGV[8] ~= '' then
  system_message(KEYS[1], KEYS[2], ARGV[3], ARGV[1], 'transfer_note', ARGV[4], ARGV[5], ARGV[8],
    now)
end
redis.call('PUBLISH', ARGV[3], pack_unassigned(ARGV[1], ARGV[4], 'transferred'))
redis.call('PUBLISH', ARGV[3], pack_assigned(ARGV[1], ARGV[6], name, c[3] or ''))
feed(fk, 'conversation.transferred', ARGV[1], now, {from_agent_id = ARGV[4], to_agent_id = ARGV[6],
  department = '', note = ARGV[8]})
feed(fk, 'conversation.assigned', ARGV[1], now, {agent_id = ARGV[6], agent_name = name,
  by = 'transfer'})
return {'ok', id}
