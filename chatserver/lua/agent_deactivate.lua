-- A deactivated agent leaves routing at once: no presence, status offline, and every node
-- closes the agent's sockets (event 'k'). Its sessions are revoked separately (global keys).
-- KEYS: 1 agent state hash, 2 presence key
-- ARGV: 1 agent id, 2 channel
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'status', 'offline') end
redis.call('PUBLISH', ARGV[2], cmsgpack.pack({'k', ARGV[1]}))
redis.call('PUBLISH', ARGV[2], cmsgpack.pack({'s', ARGV[1], 'offline'}))
return 'ok'
