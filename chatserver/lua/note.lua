-- Store a private note in the conversation's stream: kind 'note', which
-- chatserver.frames.agent_only keeps from visitors live and on replay. A note changes neither
-- the status nor the response clocks; only the agent holding the conversation writes one.
-- KEYS: 1 conversation hash, 2 messages stream, 3 client-id hash
-- ARGV: 1 agent id, 2 agent name, 3 client id, 4 text, 5 now (ms), 6 channel, 7 conversation id
local c = redis.call('HMGET', KEYS[1], 'status', 'agent', 'last_id')
if not c[1] then return {'err', 'not_found'} end
if c[2] ~= ARGV[1] then return {'err', 'forbidden'} end
local seen = redis.call('HGET', KEYS[3], ARGV[3])
if seen then return {'dup', seen} end
local prev = c[3] or '0-0'
local id = redis.call('XADD', KEYS[2], '*', 'k', 'note', 's', ARGV[1], 'n', ARGV[2],
  'c', ARGV[3], 't', ARGV[4], 'ts', ARGV[5])
redis.call('HSET', KEYS[3], ARGV[3], id .. ' ' .. ARGV[5])
redis.call('HSET', KEYS[1], 'last_id', id)
redis.call('PUBLISH', ARGV[6], cmsgpack.pack({'m', ARGV[7], id, prev, 'note', ARGV[1], ARGV[2],
  ARGV[3], ARGV[4], tonumber(ARGV[5]), ''}))
return {'ok', id}
