-- An agent's last socket on a node closed, or the agent signed out: no new chat is routed
-- to them from this moment (status offline, presence gone), and the chats they hold wait out
-- the disconnect grace. A node where the agent still has a socket answers the doorbell by
-- recording the agent again, which also ends the grace (agent_status.lua).
-- KEYS: 1 agent state hash, 2 presence key, 3 timers zset, 4 latency stream
-- ARGV: 1 agent id, 2 now (ms), 3 grace (ms), 4 channel
local state_key, presence_key, timers_key, latency_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local agent_id, now, grace_ms, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
set_agent_status(state_key, latency_key, agent_id, 'offline', now)
redis.call('DEL', presence_key)
redis.call('ZADD', timers_key, tonumber(now) + tonumber(grace_ms), 'grace|' .. agent_id)
redis.call('PUBLISH', channel, pack_agent_status(agent_id, 'offline'))
return 'ok'
