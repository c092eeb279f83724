-- Store a message from a named bot (kind 'bot', sent through the REST API): visitors and agents
-- receive it like an agent's, live and on replay. A bot is not the team answering, so it
-- changes neither the status nor the response clocks (an unanswered visitor stays unanswered
-- until a person replies), and it may write while the conversation is still queued.
-- KEYS: 1 conversation hash, 2 messages stream, 3 client-id hash, 4 the site's message
--       counters (hash, for /metrics), 5 site hash, 6 feed stream, 7 search to-index zset
-- ARGV: 1 bot id, 2 bot name, 3 client id, 4 text, 5 now (ms), 6 channel, 7 conversation id
local conv_key, stream_key, client_ids_key, counters_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local fk = {site = KEYS[5], feed = KEYS[6]}
local todo_key = KEYS[7]
local bot_id, bot_name, client_id, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, channel, conv_id = ARGV[5], ARGV[6], ARGV[7]
local c = redis.call('HMGET', conv_key, 'status', 'last_id')
if not c[1] then return {'err', 'not_found'} end
local seen = redis.call('HGET', client_ids_key, client_id)
if seen then return {'dup', seen} end
if not is_open(c[1]) then return {'err', 'closed', c[1]} end
local id = append_entry(conv_key, stream_key, client_ids_key, channel, conv_id, c[2] or '0-0',
  'bot', bot_id, bot_name, client_id, text, now)
redis.call('HINCRBY', counters_key, 'bot', 1)
redis.call('ZADD', todo_key, now, conv_id)  -- search indexes it (chatserver/search.py)
feed(fk, 'message.created', conv_id, now, {message_id = id, from = 'bot', author_id = bot_id,
  author_name = bot_name, text = text, client_id = client_id})
return {'ok', id}
