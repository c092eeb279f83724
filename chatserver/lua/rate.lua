-- A visitor rates a conversation that has ended: stored on the conversation and announced as
-- a system message, so agents and dashboards see it like any other event.
-- KEYS: 1 conversation hash, 2 messages stream, 3 latency stream (the score, for the dashboard),
--       4 site hash, 5 feed stream
-- ARGV: 1 conversation id, 2 visitor id, 3 score (1-5), 4 comment, 5 now, 6 channel,
--       7 visitor name, 8 text of the system message, 9 ended statuses ("a,b,c")
local conv_key, stream_key, latency_key = KEYS[1], KEYS[2], KEYS[3]
local fk = {site = KEYS[4], feed = KEYS[5]}
local conv_id, visitor_id, score, comment, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local channel, visitor_name, text, ended_statuses = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local c = redis.call('HMGET', conv_key, 'status', 'visitor', 'rating', 'agent', 'department')
if not c[1] then return {'err', 'not_found'} end
if c[2] ~= visitor_id then return {'err', 'forbidden'} end
local ended = false
for status in string.gmatch(ended_statuses, '([^,]+)') do
  if status == c[1] then ended = true end
end
if not ended then return {'err', 'not_ended', c[1]} end
if c[3] and c[3] ~= '' then return {'err', 'conflict', 'already rated'} end
redis.call('HSET', conv_key, 'rating', score, 'rating_comment', comment, 'rated_at', now)
record_latency(latency_key, 'rating', conv_id, c[4], score, now, c[5])
local id = system_message(conv_key, stream_key, channel, conv_id, 'rated', visitor_id,
  visitor_name, text, now)
feed(fk, 'rating.created', conv_id, now, {score = tonumber(score), comment = comment,
  visitor_id = visitor_id, agent_id = c[4] or ''})
return {'ok', id}
