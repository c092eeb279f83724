-- Store one message and ring the site's doorbell, in one atomic step; the response clocks
-- and the timers that watch them move in the same step.
-- KEYS: 1 conversation hash, 2 messages stream, 3 client-id hash, 4 timers zset,
--       5 latency stream, 6 the site's message counters (hash, for /metrics), 7 site hash,
--       8 feed stream, 9 the site's search to-index zset
-- ARGV: 1 kind (visitor|agent), 2 sender id, 3 sender name, 4 client id, 5 text, 6 now (ms),
--       7 channel, 8 conversation id, 9 transition map of this kind's message event,
--       10 preview, 11 first-response delay (ms to the target's deadline in business time,
--       0 off), 12 next-response delay (ms, likewise),
--       13 nudge delay (ms); with KEYS[10] (the sender's message leases, an abuse limit):
--       14 most messages, 15 in how many ms ('' both without KEYS[10]);
--       16 file id ('' none), 17 its metadata (JSON, kept in the entry's 'f' field): with
--       a file the last three KEYS are its record, the conversation's file set and the
--       site's pending uploads (chatserver/files/)
local conv_key, stream_key, client_ids_key, timers_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local latency_key, counters_key, todo_key = KEYS[5], KEYS[6], KEYS[9]
local file_id, file_meta = ARGV[16] or '', ARGV[17] or ''
local nkeys, file_key, conv_files_key, pending_key = #KEYS, nil, nil, nil
if file_id ~= '' then
  file_key, conv_files_key, pending_key = KEYS[nkeys - 2], KEYS[nkeys - 1], KEYS[nkeys]
  nkeys = nkeys - 3
end
local leases_key = nkeys >= 10 and KEYS[10] or nil
local fk = {site = KEYS[7], feed = KEYS[8]}
local kind, sender, sender_name, client_id, text = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, channel, conv_id, message_map, preview = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local first_target, next_target, nudge_delay = ARGV[11], ARGV[12], ARGV[13]
local lease_limit, lease_ms = ARGV[14], ARGV[15]
local c = redis.call('HMGET', conv_key, 'status', 'visitor', 'agent', 'last_id',
  'unanswered_since', 'first_visitor_msg_at', 'first_agent_reply_at', 'department', 'joined',
  'snoozed_until')
local status = c[1]
if not status then return {'err', 'not_found'} end
if kind == 'visitor' then
  if c[2] ~= sender then return {'err', 'forbidden'} end
elseif c[3] ~= sender
    -- a supervisor who joined writes as the agent does (joined: JSON [[id, name], ...])
    and not (c[9] and string.find(c[9], '["' .. sender .. '",', 1, true)) then
  return {'err', 'forbidden'}
end
local seen = redis.call('HGET', client_ids_key, client_id)
if seen then return {'dup', seen} end
local target = transition(message_map, status)
if not target then return {'err', 'closed', status} end
local prev = c[4] or '0-0'
if file_key then
  -- Only its uploader may send a file, once, into the conversation it was uploaded for.
  local f = redis.call('HMGET', file_key, 'owner', 'conv', 'msg')
  if f[1] ~= kind .. ':' .. sender or (f[2] and f[2] ~= '' and f[2] ~= conv_id) then
    return {'err', 'file_not_found'}
  end
  if f[3] and f[3] ~= '' then return {'err', 'file_in_use'} end
end
if leases_key then
  local wait = lease_wait(leases_key, tonumber(now), tonumber(lease_limit))
  if wait > 0 then return {'err', 'rate_limited', tostring(wait)} end
  local t = tonumber(now)
  lease_take(leases_key, conv_id .. ' ' .. client_id, t, t + tonumber(lease_ms))
end
local id
if file_key then  -- only messages with a file pay for it
  id = redis.call('XADD', stream_key, '*', 'k', kind, 's', sender, 'n', sender_name,
    'c', client_id, 't', text, 'ts', now, 'f', file_meta)
  redis.call('HSET', file_key, 'conv', conv_id, 'msg', id)
  redis.call('SADD', conv_files_key, file_id)
  redis.call('ZREM', pending_key, file_id)
else
  id = redis.call('XADD', stream_key, '*', 'k', kind, 's', sender, 'n', sender_name,
    'c', client_id, 't', text, 'ts', now)
end
redis.call('HSET', client_ids_key, client_id, id .. ' ' .. now)
redis.call('HINCRBY', counters_key, kind, 1)
redis.call('ZADD', todo_key, now, conv_id)  -- search indexes it (chatserver/search.py)
local response_ms = ''
local unanswered = c[5] and c[5] ~= ''
if kind == 'visitor' then
  redis.call('HSET', conv_key, 'status', target, 'last_id', id, 'last_visitor_msg_at', now,
    'preview', preview, 'parked', '')
  if not unanswered then
    redis.call('HSET', conv_key, 'unanswered_since', now)
    if c[7] then schedule(timers_key, 'nrt|' .. conv_id, now, next_target) end
  end
  if not c[6] then
    redis.call('HSET', conv_key, 'first_visitor_msg_at', now)
    schedule(timers_key, 'frt|' .. conv_id, now, first_target)
  end
  redis.call('ZREM', timers_key, 'nudge|' .. conv_id, 'park|' .. conv_id)
else
  redis.call('HSET', conv_key, 'status', target, 'last_id', id, 'last_agent_msg_at', now,
    'unanswered_since', '')
  if unanswered then
    response_ms = tostring(tonumber(now) - tonumber(c[5]))
    redis.call('HINCRBY', conv_key, 'responses', 1)
    redis.call('HINCRBY', conv_key, 'response_ms_total', response_ms)
    record_latency(latency_key, 'response', conv_id, sender, response_ms, now, c[8])
    redis.call('ZREM', timers_key, 'nrt|' .. conv_id)
  end
  if not c[7] then
    redis.call('HSET', conv_key, 'first_agent_reply_at', now)
    if c[6] then
      local frt = tostring(tonumber(now) - tonumber(c[6]))
      redis.call('HSET', conv_key, 'first_response_ms', frt)
      record_latency(latency_key, 'first_response', conv_id, sender, frt, now, c[8])
    end
    redis.call('ZREM', timers_key, 'frt|' .. conv_id)
  end
  schedule(timers_key, 'nudge|' .. conv_id, now, nudge_delay)
end
-- A message ends a snooze, whoever writes it (rare: checked, not written every time).
if c[10] and c[10] ~= '' then
  redis.call('HSET', conv_key, 'snoozed_until', '')
  redis.call('ZREM', timers_key, 'snooze|' .. conv_id)
end
redis.call('PUBLISH', channel, pack_message(conv_id, id, prev, kind, sender, sender_name,
  client_id, text, tonumber(now), '', file_meta))
feed(fk, 'message.created', conv_id, now, {message_id = id, from = kind, author_id = sender,
  author_name = sender_name, text = text, client_id = client_id,
  file = file_key and cjson.decode(file_meta) or nil})
return {'ok', id, prev, response_ms}
