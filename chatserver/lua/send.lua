-- Store one message and ring the site's doorbell, in one atomic step; the response clocks
-- and the timers that watch them move in the same step.
-- KEYS: 1 conversation hash, 2 messages stream, 3 client-id hash, 4 timers zset,
--       5 latency stream, 6 the site's message counters (hash, for /metrics)
-- ARGV: 1 kind (visitor|agent), 2 sender id, 3 sender name, 4 client id, 5 text, 6 now (ms),
--       7 channel, 8 conversation id, 9 transition map of this kind's message event,
--       10 preview, 11 first-response target (ms, 0 off), 12 next-response target (ms),
--       13 nudge delay (ms); with KEYS[7] (the sender's message leases, an abuse limit):
--       14 most messages, 15 in how many ms
local c = redis.call('HMGET', KEYS[1], 'status', 'visitor', 'agent', 'last_id',
  'unanswered_since', 'first_visitor_msg_at', 'first_agent_reply_at', 'department')
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
local conv_id = ARGV[8]
local prev = c[4] or '0-0'
if KEYS[7] then
  local wait = lease_wait(KEYS[7], tonumber(now), tonumber(ARGV[14]))
  if wait > 0 then return {'err', 'rate_limited', tostring(wait)} end
  local t = tonumber(now)
  lease_take(KEYS[7], conv_id .. ' ' .. client_id, t, t + tonumber(ARGV[15]))
end
local id = redis.call('XADD', KEYS[2], '*', 'k', kind, 's', sender, 'n', ARGV[3],
  'c', client_id, 't', ARGV[5], 'ts', now)
redis.call('HSET', KEYS[3], client_id, id .. ' ' .. now)
redis.call('HINCRBY', KEYS[6], kind, 1)
local response_ms = ''
local unanswered = c[5] and c[5] ~= ''
if kind == 'visitor' then
  redis.call('HSET', KEYS[1], 'status', target, 'last_id', id, 'last_visitor_msg_at', now,
    'preview', ARGV[10], 'parked', '')
  if not unanswered then
    redis.call('HSET', KEYS[1], 'unanswered_since', now)
    if c[7] then schedule(KEYS[4], 'nrt|' .. conv_id, now, ARGV[12]) end
  end
  if not c[6] then
    redis.call('HSET', KEYS[1], 'first_visitor_msg_at', now)
    schedule(KEYS[4], 'frt|' .. conv_id, now, ARGV[11])
  end
  redis.call('ZREM', KEYS[4], 'nudge|' .. conv_id, 'park|' .. conv_id)
else
  redis.call('HSET', KEYS[1], 'status', target, 'last_id', id, 'last_agent_msg_at', now,
    'unanswered_since', '')
  if unanswered then
    response_ms = tostring(tonumber(now) - tonumber(c[5]))
    redis.call('HINCRBY', KEYS[1], 'responses', 1)
    redis.call('HINCRBY', KEYS[1], 'response_ms_total', response_ms)
    record_latency(KEYS[5], 'response', conv_id, sender, response_ms, now, c[8])
    redis.call('ZREM', KEYS[4], 'nrt|' .. conv_id)
  end
  if not c[7] then
    redis.call('HSET', KEYS[1], 'first_agent_reply_at', now)
    if c[6] then
      local frt = tostring(tonumber(now) - tonumber(c[6]))
      redis.call('HSET', KEYS[1], 'first_response_ms', frt)
      record_latency(KEYS[5], 'first_response', conv_id, sender, frt, now, c[8])
    end
    redis.call('ZREM', KEYS[4], 'frt|' .. conv_id)
  end
  schedule(KEYS[4], 'nudge|' .. conv_id, now, ARGV[13])
end
redis.call('PUBLISH', ARGV[7], cmsgpack.pack({'m', conv_id, id, prev, kind, sender, ARGV[3],
  client_id, ARGV[5], tonumber(now), ''}))
return {'ok', id, prev, response_ms}
