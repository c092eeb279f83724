-- A visitor rates a conversation that has ended: stored on the conversation and announced as
-- a system message, so agents and dashboards see it like any other event.
-- KEYS: 1 conversation hash, 2 messages stream, 3 latency stream (the score, for the dashboard)
-- ARGV: 1 conversation id, 2 visitor id, 3 score (1-5), 4 comment, 5 now, 6 channel,
--       7 visitor name, 8 text of the system message, 9 ended statuses ("a,b,c")
local c = redis.call('HMGET', KEYS[1], 'status', 'visitor', 'rating', 'agent', 'department')
if not c[1] then return {'err', 'not_found'} end
if c[2] ~= ARGV[2] then return {'err', 'forbidden'} end
local ended = false
for status in string.gmatch(ARGV[9], '([^,]+)') do
  if status == c[1] then ended = true end
end
if not ended then return {'err', 'not_ended', c[1]} end
if c[3] and c[3] ~= '' then return {'err', 'conflict', 'already rated'} end
redis.call('HSET', KEYS[1], 'rating', ARGV[3], 'rating_comment', ARGV[4], 'rated_at', ARGV[5])
record_latency(KEYS[3], 'rating', ARGV[1], c[4], ARGV[3], ARGV[5], c[5])
local id = system_message(KEYS[1], KEYS[2], ARGV[6], ARGV[1], 'rated', ARGV[2], ARGV[7],
  ARGV[8], ARGV[5])
return {'ok', id}
