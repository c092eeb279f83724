-- Resolve a conversation: it leaves the queue, the open set and its agent's load together.
-- KEYS: 1 conversation hash, 2 messages stream, 3 queue zset, 4 open zset, 5 visitor hash,
--       6 the assigned agent's conversations set (any unused key when there is none)
-- ARGV: 1 conversation id, 2 now, 3 channel, 4 by kind (visitor|agent), 5 by id, 6 by name,
--       7 transition map (resolve), 8 the agent id the caller believes is assigned ('' if none)
local c = redis.call('HMGET', KEYS[1], 'status', 'agent', 'visitor', 'department', 'assigned_at')
if not c[1] then return {'err', 'not_found'} end
local kind, by = ARGV[4], ARGV[5]
if kind == 'visitor' and c[3] ~= by then return {'err', 'forbidden'} end
if kind == 'agent' and c[2] ~= by then return {'err', 'forbidden'} end
local target = transition(ARGV[7], c[1])
if not target then return {'err', 'closed', c[1]} end
local agent = c[2] or ''
if agent ~= ARGV[8] then return {'retry', agent} end
local now = ARGV[2]
redis.call('HSET', KEYS[1], 'status', target, 'resolved_at', now, 'resolved_by', kind,
  'unanswered_since', '')
if agent ~= '' then redis.call('SREM', KEYS[6], ARGV[1]) end
local was_queued = redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if redis.call('HGET', KEYS[5], 'open_conv') == ARGV[1] then
  redis.call('HDEL', KEYS[5], 'open_conv')
end
local text = 'The chat was resolved'
local id = system_message(KEYS[1], KEYS[2], ARGV[3], ARGV[1], 'resolved', by, ARGV[6], text, now)
redis.call('PUBLISH', ARGV[3], cmsgpack.pack({'r', ARGV[1], kind, c[3] or '', agent,
  tonumber(c[5] or '0'), tonumber(now)}))
if was_queued == 1 then redis.call('PUBLISH', ARGV[3], cmsgpack.pack({'q', c[4] or ''})) end
return {'ok', id}
