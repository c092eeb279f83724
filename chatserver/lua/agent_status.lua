-- An agent comes online, goes away, or refreshes its settings; rings the doorbell so
-- routing runs again.
-- KEYS: 1 agent state hash, 2 presence key, 3 site's agents set, 4 timers zset, 5 latency stream
-- ARGV: 1 agent id, 2 name, 3 capacity, 4 status, 5 presence ttl (s), 6 departments, 7 channel,
--       8 '1' to ring the doorbell ('0' for a heartbeat, which re-asserts the same state so
--       that an agent survives a Redis that lost its last writes), 9 now (ms)
set_agent_status(KEYS[1], KEYS[5], ARGV[1], ARGV[4], ARGV[9])
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'capacity', ARGV[3], 'departments', ARGV[6])
if not redis.call('HGET', KEYS[1], 'last_assigned') then
  redis.call('HSET', KEYS[1], 'last_assigned', '0')
end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[5])
redis.call('SADD', KEYS[3], ARGV[1])
-- A connected agent is not gone: whatever disconnect grace was running is over.
redis.call('ZREM', KEYS[4], 'grace|' .. ARGV[1])
if ARGV[8] == '1' then
  redis.call('PUBLISH', ARGV[7], cmsgpack.pack({'s', ARGV[1], ARGV[4]}))
end
return 'ok'
