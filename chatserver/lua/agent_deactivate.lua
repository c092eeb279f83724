-- A deactivated agent leaves routing at once: no presence, status offline, and every node
-- closes the agent's sockets (event 'k'). Its sessions are revoked separately (global keys).
-- KEYS: 1 agent state hash, 2 presence key, 3 latency stream
-- ARGV: 1 agent id, 2 channel, 3 now (ms)
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then
  set_agent_status(KEYS[1], KEYS[3], ARGV[1], 'offline', ARGV[3])
end
redis.call('PUBLISH', ARGV[2], cmsgpack.pack({'k', ARGV[1]}))
redis.call('PUBLISH', ARGV[2], cmsgpack.pack({'s', ARGV[1], 'offline'}))
return 'ok'
