-- An agent's disconnect grace ran out: unless the agent is back, every chat it holds goes
-- back to the head of its queue and the visitors are told. Exactly once, like timer.lua.
-- KEYS: 1 timers zset, 2 agent presence, 3 agent's conversations set, 4 agent state hash,
--       then for each conversation: hash, messages stream, queue zset; last, latency stream,
--       site hash, feed stream
-- ARGV: 1 member, 2 agent id, 3 now, 4 channel, 5 requeue map, 6 count, 7.. conversation ids
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[3]) then return {'gone'} end
-- Presence outlives the last socket by up to its TTL; a connected agent's heartbeat removes
-- this timer, so presence here is stale: wait until it expires.
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[3]) + ttl + 100, ARGV[1])
  return {'later'}
end
local latency_key, fk = KEYS[#KEYS - 2], {site = KEYS[#KEYS - 1], feed = KEYS[#KEYS]}
local moved = 0
for i = 1, tonumber(ARGV[6]) do
  local conv_id = ARGV[6 + i]
  local conv_key, stream_key, queue_key = KEYS[i * 3 + 2], KEYS[i * 3 + 3], KEYS[i * 3 + 4]
  local c = redis.call('HMGET', conv_key, 'status', 'agent')
  local to = c[1] and transition(ARGV[5], c[1])
  if to and c[2] == ARGV[2] then
    requeue(conv_key, queue_key, KEYS[3], stream_key, ARGV[4], conv_id, ARGV[2], to, ARGV[3],
      'requeued', 'Your agent was disconnected; you are first in line for the next one',
      fk, 'conversation.requeued', 'agent_disconnected')
    moved = moved + 1
  else
    redis.call('SREM', KEYS[3], conv_id)  -- ended or not the agent's any more: stale entry
  end
end
-- Chats assigned after the caller read the set: leave the timer for the next round.
if redis.call('SCARD', KEYS[3]) > 0 then return {'again', moved} end
redis.call('ZREM', KEYS[1], ARGV[1])
if set_agent_status(KEYS[4], latency_key, ARGV[2], 'offline', ARGV[3]) then
  redis.call('PUBLISH', ARGV[4], pack_agent_status(ARGV[2], 'offline'))
end
return {'requeued', moved}
