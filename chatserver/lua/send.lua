-- Store one message and ring the site's doorbell, in one atomic step.
-- KEYS: 1 conversation hash, 2 messages stream, 3 client-id hash
-- ARGV: 1 kind (visitor|agent), 2 sender id, 3 sender name, 4 client id, 5 text, 6 now (ms),
--       7 channel, 8 conversation id, 9 transition map of this kind's message event, 10 preview
local c = redis.call('HMGET', KEYS[1], 'status', 'visitor', 'agent', 'last_id',
  'unanswered_since', 'first_visitor_msg_at', 'first_agent_reply_at')
local status = c[1]
if not status then return {'err', 'not_found'} end
local kind, sender = ARGV[1], ARGV[2]
if kind == 'visitor' then
  if c[2] ~= sender then return {'err', 'forbidden'} end
elseif c[3] ~= sender then
  return {'err', 'forbidden'}
end
local client_id = ARGV[4]
local seen = redis.call('HGET', KEYS[3], client_id)
if seen then return {'dup', seen} end
local target = transition(ARGV[9], status)
if not target then return {'err', 'closed', status} end
local now = ARGV[6]
local prev = c[4] or '0-0'
local id = redis.call('XADD', KEYS[2], '*', 'k', kind, 's', sender, 'n', ARGV[3],
  'c', client_id, 't', ARGV[5], 'ts', now)
redis.call('HSET', KEYS[3], client_id, id .. ' ' .. now)
local response_ms = ''
if kind == 'visitor' then
  redis.call('HSET', KEYS[1], 'status', target, 'last_id', id, 'last_visitor_msg_at', now,
    'preview', ARGV[10])
  if not c[5] or c[5] == '' then redis.call('HSET', KEYS[1], 'unanswered_since', now) end
  if not c[6] then redis.call('HSET', KEYS[1], 'first_visitor_msg_at', now) end
else
  redis.call('HSET', KEYS[1], 'status', target, 'last_id', id, 'last_agent_msg_at', now,
    'unanswered_since', '')
  if c[5] and c[5] ~= '' then response_ms = tostring(tonumber(now) - tonumber(c[5])) end
  if not c[7] then redis.call('HSET', KEYS[1], 'first_agent_reply_at', now) end
end
redis.call('PUBLISH', ARGV[7], cmsgpack.pack({'m', ARGV[8], id, prev, kind, sender, ARGV[3],
  client_id, ARGV[5], tonumber(now), ''}))
return {'ok', id, prev, response_ms}
