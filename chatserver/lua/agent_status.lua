-- An agent comes online, goes away, or refreshes its settings; rings the doorbell so
-- routing runs again.
-- KEYS: 1 agent state hash, 2 presence key, 3 site's agents set, 4 timers zset, 5 latency stream
-- ARGV: 1 agent id, 2 name, 3 capacity, 4 status, 5 presence ttl (s), 6 departments, 7 channel,
--       8 '1' to ring the doorbell ('0' for a heartbeat, which re-asserts the same state so
--       that an agent survives a Redis that lost its last writes), 9 now (ms)
local state_key, presence_key, agents_key = KEYS[1], KEYS[2], KEYS[3]
local timers_key, latency_key = KEYS[4], KEYS[5]
local agent_id, name, capacity, status = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ttl, departments, channel, announce, now = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
set_agent_status(state_key, latency_key, agent_id, status, now)
redis.call('HSET', state_key, 'name', name, 'capacity', capacity, 'departments', departments)
if not redis.call('HGET', state_key, 'last_assigned') then
  redis.call('HSET', state_key, 'last_assigned', '0')
end
redis.call('SET', presence_key, '1', 'EX', ttl)
redis.call('SADD', agents_key, agent_id)
-- A connected agent is not gone: whatever disconnect grace was running is over.
redis.call('ZREM', timers_key, 'grace|' .. agent_id)
if announce == '1' then
  redis.call('PUBLISH', channel, pack_agent_status(agent_id, status))
end
return 'ok'
