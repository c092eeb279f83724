-- Store a private note in the conversation's stream: kind 'note', which
-- chatserver.frames.agent_only keeps from visitors live and on replay. A note changes neither
-- the status nor the response clocks; only the agent holding the conversation writes one.
-- KEYS: 1 conversation hash, 2 messages stream, 3 client-id hash, 4 site hash, 5 feed stream,
--       6 search to-index zset
-- ARGV: 1 agent id, 2 agent name, 3 client id, 4 text, 5 now (ms), 6 channel, 7 conversation id
local conv_key, stream_key, client_ids_key = KEYS[1], KEYS[2], KEYS[3]
local fk = {site = KEYS[4], feed = KEYS[5]}
local todo_key = KEYS[6]
local agent_id, agent_name, client_id, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, channel, conv_id = ARGV[5], ARGV[6], ARGV[7]
local c = redis.call('HMGET', conv_key, 'status', 'agent', 'last_id')
if not c[1] then return {'err', 'not_found'} end
if c[2] ~= agent_id then return {'err', 'forbidden'} end
local seen = redis.call('HGET', client_ids_key, client_id)
if seen then return {'dup', seen} end
local id = append_entry(conv_key, stream_key, client_ids_key, channel, conv_id, c[3] or '0-0',
  'note', agent_id, agent_name, client_id, text, now)
redis.call('ZADD', todo_key, now, conv_id)  -- search indexes it (chatserver/search.py)
feed(fk, 'note.created', conv_id, now, {message_id = id, author_id = agent_id,
  author_name = agent_name, text = text, client_id = client_id})
return {'ok', id}
