-- A supervisor's step inside a conversation they do not hold (docs/protocol.md, Supervision):
-- monitor, unmonitor, whisper, join or leave. Each is checked against the conversation's
-- state here, leaves its mark in the conversation's stream (agent-only, except joined and
-- left, which the visitor sees) and a line in the site's audit log, in one step.
-- KEYS: 1 conversation hash, 2 messages stream, 3 client-id hash, 4 audit stream,
--       5 search to-index zset
-- ARGV: 1 action (monitor|unmonitor|whisper|join|leave), 2 supervisor id, 3 supervisor name,
--       4 now (ms), 5 channel, 6 conversation id, 7 client id (whisper), 8 text (whisper),
--       9 audit log length (entries kept)
local conv_key, stream_key, client_ids_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local todo_key = KEYS[5]
local action, actor, actor_name, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local channel, conv_id, client_id, text, audit_len = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local c = redis.call('HMGET', conv_key, 'status', 'agent', 'joined', 'monitors', 'last_id')
local status = c[1]
if not status then return {'err', 'not_found'} end

local function audit(detail)
  redis.call('XADD', audit_key, 'MAXLEN', '~', audit_len, '*', 'ts', now, 'actor', actor,
    'name', actor_name, 'action', action, 'conv', conv_id, 'detail', detail)
end

-- Who joined: a JSON list of [id, name] pairs (participants in the summaries).
local joined = (c[3] and c[3] ~= '') and cjson.decode(c[3]) or {}
local function joined_at()
  for i, pair in ipairs(joined) do
    if pair[1] == actor then return i end
  end
  return nil
end
local function save_joined()
  redis.call('HSET', conv_key, 'joined', #joined > 0 and cjson.encode(joined) or '')
end
-- Who monitors: ' a_1 a_2 ' (a supervisor's later sockets monitor again without a new mark).
local monitors = c[4] or ''
local watching = string.find(monitors, ' ' .. actor .. ' ', 1, true) ~= nil

if action == 'monitor' then
  if watching then return {'ok', ''} end
  redis.call('HSET', conv_key, 'monitors', (monitors == '' and ' ' or monitors) .. actor .. ' ')
  audit('')
  return {'ok', system_message(conv_key, stream_key, channel, conv_id, 'monitor_started', actor,
    actor_name, actor_name .. ' is watching the chat', now)}
elseif action == 'unmonitor' then
  if watching then
    -- A plain find: ids may hold '-', which a Lua pattern would read as a quantifier.
    local at = string.find(monitors, ' ' .. actor .. ' ', 1, true)
    redis.call('HSET', conv_key, 'monitors',
      string.sub(monitors, 1, at) .. string.sub(monitors, at + #actor + 2))
    audit('')
  end
  return {'ok', ''}
end

if not is_open(status) then return {'err', 'closed', status} end
if action == 'whisper' then
  local seen = redis.call('HGET', client_ids_key, client_id)
  if seen then return {'dup', seen} end
  local id = append_entry(conv_key, stream_key, client_ids_key, channel, conv_id,
    c[5] or '0-0', 'whisper', actor, actor_name, client_id, text, now)
  redis.call('ZADD', todo_key, now, conv_id)  -- search indexes it (chatserver/search.py)
  audit(id)
  return {'ok', id}
elseif action == 'join' then
  if not c[2] or c[2] == '' then return {'err', 'conflict', 'queued'} end
  if c[2] == actor or joined_at() then return {'err', 'conflict', 'joined'} end
  table.insert(joined, {actor, actor_name})
  save_joined()
  audit(c[2])
  return {'ok', system_message(conv_key, stream_key, channel, conv_id, 'joined', actor,
    actor_name, actor_name .. ' joined the chat', now)}
elseif action == 'leave' then
  local at = joined_at()
  if not at then return {'err', 'conflict', 'not_joined'} end
  table.remove(joined, at)
  save_joined()
  audit('')
  return {'ok', system_message(conv_key, stream_key, channel, conv_id, 'left', actor,
    actor_name, actor_name .. ' left the chat', now)}
end
return {'err', 'unknown_action'}
