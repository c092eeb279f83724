-- Transfer a conversation to a department (Event.REQUEUE): it goes back into that
-- department's queue ahead of newer arrivals (requeue() keeps its place by creation time),
-- leaves the holder's set in the same step, and carries an optional note only agents see.
-- KEYS: 1 conversation hash, 2 messages stream, 3 the holder's conversations set,
--       4 the department's queue zset, 5 departments set, 6 site hash, 7 feed stream,
--       8 timers zset (the response clocks follow the new department's hours)
-- ARGV: 1 conversation id, 2 now, 3 channel, 4 holder id, 5 holder name, 6 department,
--       7 transition map (requeue), 8 note ('' for none)
local c = redis.call('HMGET', KEYS[1], 'status', 'agent')
if not c[1] then return {'err', 'not_found'} end
if c[2] ~= ARGV[4] then return {'err', 'forbidden'} end
local target = transition(ARGV[7], c[1])
if not target then return {'err', 'closed', c[1]} end
local now = ARGV[2]
if ARGV[8] ~= '' then
  system_message(KEYS[1], KEYS[2], ARGV[3], ARGV[1], 'transfer_note', ARGV[4], ARGV[5], ARGV[8],
    now)
end
change_department(KEYS[1], KEYS[8], ARGV[1], ARGV[6], now)
redis.call('SADD', KEYS[5], ARGV[6])
local label = ARGV[6] ~= '' and ARGV[6] or 'the team'
local id = requeue(KEYS[1], KEYS[4], KEYS[3], KEYS[2], ARGV[3], ARGV[1], ARGV[4], target, now,
  'requeued', ARGV[5] .. ' transferred the chat to ' .. label .. '; please wait for an agent',
  {site = KEYS[6], feed = KEYS[7]}, 'conversation.transferred', 'department')
return {'ok', id}
