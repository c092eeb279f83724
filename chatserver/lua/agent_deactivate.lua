-- A deactivated agent leaves routing at once: no presence, status offline, and every node
-- closes the agent's sockets (event 'k'). Its sessions are revoked separately (global keys).
-- KEYS: 1 agent state hash, 2 presence key, 3 latency stream
-- ARGV: 1 agent id, 2 channel, 3 now (ms)
local state_key, presence_key, latency_key = KEYS[1], KEYS[2], KEYS[3]
local agent_id, channel, now = ARGV[1], ARGV[2], ARGV[3]
redis.call('DEL', presence_key)
if redis.call('EXISTS', state_key) == 1 then
  set_agent_status(state_key, latency_key, agent_id, 'offline', now)
end
redis.call('PUBLISH', channel, pack_deactivated(agent_id))
redis.call('PUBLISH', channel, pack_agent_status(agent_id, 'offline'))
return 'ok'
