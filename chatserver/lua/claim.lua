-- Assign a queued conversation to the first candidate agent that can take it now.
-- The only place assignments happen: the conversation must still be queued and the agent
-- present, online (or picking by hand) and under capacity, all checked in this one step.
-- KEYS: 1 conversation hash, 2 queue zset, 3 messages stream, then for each candidate:
--       agent state hash, presence key, agent's conversations set
-- ARGV: 1 conversation id, 2 now, 3 channel, 4 manual ('1' or '0'), 5 transition map (assign),
--       6 number of candidates, 7.. candidate agent ids
local c = redis.call('HMGET', KEYS[1], 'status', 'agent', 'visitor', 'department')
if not c[1] then return {'err', 'not_found'} end
local target = transition(ARGV[5], c[1])
if not target then return {'err', 'conflict', c[2] or ''} end
local now = ARGV[2]
local manual = ARGV[4] == '1'
for i = 1, tonumber(ARGV[6]) do
  local agent_id = ARGV[6 + i]
  local state_key, presence_key, convs_key = KEYS[i * 3 + 1], KEYS[i * 3 + 2], KEYS[i * 3 + 3]
  local a = redis.call('HMGET', state_key, 'status', 'capacity', 'name')
  -- The set of held conversations is the load: no counter that could drift from the truth.
  local load = redis.call('SCARD', convs_key)
  if redis.call('EXISTS', presence_key) == 1 and (a[1] == 'online' or (manual and a[1] == 'away'))
      and load < tonumber(a[2] or '0') then
    local name = a[3] or ''
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('HSET', KEYS[1], 'status', target, 'agent', agent_id, 'agent_name', name,
      'assigned_at', now)
    if not redis.call('HGET', KEYS[1], 'first_assigned_at') then
      redis.call('HSET', KEYS[1], 'first_assigned_at', now)
    end
    redis.call('SADD', convs_key, ARGV[1])
    redis.call('HSET', state_key, 'last_assigned', now)
    local id = system_message(KEYS[1], KEYS[3], ARGV[3], ARGV[1], 'assigned', agent_id, name,
      name .. ' joined the chat', now)
    redis.call('PUBLISH', ARGV[3], cmsgpack.pack({'a', ARGV[1], agent_id, name, c[3]}))
    redis.call('PUBLISH', ARGV[3], cmsgpack.pack({'q', c[4] or ''}))
    return {'ok', agent_id, id}
  end
end
if manual then return {'err', 'capacity'} end
return {'err', 'none'}
