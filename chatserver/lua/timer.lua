-- Fire one conversation timer, exactly once: the member is claimed (removed) in the same
-- atomic step that acts on it, so of several nodes polling the same deadline one acts.
-- Every action re-checks the conversation: a timer whose reason has passed does nothing.
-- KEYS: 1 timers zset, 2 conversation hash, 3 messages stream, 4 its queue zset, 5 open zset,
--       6 visitor hash, 7 visitor presence hash, 8 its agent's conversations set,
--       9 latency stream, 10 site hash, 11 feed stream, 12 its agent's presence key,
--       13 ended zset
-- ARGV: 1 member, 2 kind, 3 conversation id, 4 now, 5 channel, 6 agent id, 7 department,
--       8 visitor id (6-8 as the caller read them), 9 first-response target, 10 next-response
--       target, 11 nudge delay, 12 park delay, 13 visitor grace, 14 abandon delay,
--       15 reassign delay (all ms), 16 requeue map, 17 visitor-left map, 18 abandon map,
--       19 offline-offer delay (ms); for frt and nrt (else ''): 20 the clock's start as the
--       caller read it, 21 the business time since then and 22 the deadline under the site's
--       office hours ('' never), both worked out by the caller (chatserver/core/sla.py),
--       23 breach-reassign delay (ms, 0 off), 24 the business time after which this clock's
--       target is at risk (ms), 25 follow-up reminder period (ms, 0 off), 26 the department
--       transfers ('department_changes') as the caller read them; 22 is then when to look
--       again: the risk point while short of it, else the deadline; 27 keep-place delay (ms,
--       0 off)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
local now = tonumber(ARGV[4])
if not score or tonumber(score) > now then return {'gone'} end
local kind, conv_id, channel = ARGV[2], ARGV[3], ARGV[5]
local c = redis.call('HMGET', KEYS[2], 'status', 'agent', 'department', 'visitor',
  'first_visitor_msg_at', 'first_agent_reply_at', 'unanswered_since', 'last_agent_msg_at',
  'last_visitor_msg_at', 'queued_at', 'assigned_at', 'offline_offered', 'parked',
  'sla_risk_for', 'snoozed_until', 'department_changes', 'awaiting_email_reply',
  'place_kept_since')
local status = c[1]
if not status then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return {'gone'}
end
local since = (kind == 'frt' and c[5]) or (kind == 'nrt' and c[7]) or ''
if (c[2] or '') ~= ARGV[6] or (c[3] or '') ~= ARGV[7] or (c[4] or '') ~= ARGV[8]
    or since ~= (ARGV[20] or '') or (c[16] or '') ~= (ARGV[26] or '') then
  return {'retry'}
end
redis.call('ZREM', KEYS[1], ARGV[1])
if kind == 'followup' and not is_open(status) then
  -- An ended (abandoned) chat whose visitor waits for a reply by e-mail (the team was
  -- alerted, chatserver/mail/alerts.py): remind the supervisors until an agent writes in it
  -- (reopening it), three times at most: a reply sent from a mail program is not seen here.
  local since = tonumber(c[17] or '') or 0
  if since == 0 or (tonumber(c[8] or '') or 0) >= since then return {'noop'} end
  if redis.call('HINCRBY', KEYS[2], 'follow_ups', 1) < 3 then
    schedule(KEYS[1], 'followup|' .. conv_id, ARGV[4], ARGV[25])
  end
  redis.call('PUBLISH', channel, pack_follow_up(conv_id))
  return {'fired'}
end
if not is_open(status) then return {'noop'} end
local function n(v) return tonumber(v or '') or 0 end
local function later(at, delay)  -- the deadline moved: wait for it instead
  redis.call('ZADD', KEYS[1], at + delay, ARGV[1])
  return {'later'}
end
local function at(due)  -- a response clock short of its target: wait for its deadline
  if due == '' then return {'noop'} end  -- these office hours never reach it
  redis.call('ZADD', KEYS[1], math.max(tonumber(due), now + 1), ARGV[1])
  return {'later'}
end
local function say(event, text)
  return system_message(KEYS[2], KEYS[3], channel, conv_id, event, '', '', text, ARGV[4])
end
local keys = {conv = KEYS[2], stream = KEYS[3], queue = KEYS[4], open = KEYS[5],
  visitor = KEYS[6], agent_convs = KEYS[8], timers = KEYS[1], latency = KEYS[9],
  site = KEYS[10], feed = KEYS[11], ended = KEYS[13]}
-- A response clock short of its target: at the risk point it escalates once (the clock's
-- start in 'sla_risk_for' marks which clock it was), then it waits for the deadline.
local function short(which, clock, worked, target, since)
  local risk = n(ARGV[24])
  if risk > 0 and worked >= risk and c[14] ~= which .. since then
    redis.call('HSET', KEYS[2], 'sla_risk_for', which .. since)
    redis.call('PUBLISH', channel, pack_at_risk(conv_id, which, c[2] or ''))
    feed(keys, 'sla.at_risk', conv_id, now, {clock = clock, agent_id = c[2] or '',
      target_ms = target, business_waited_ms = worked})
  end
  return at(ARGV[22])
end
-- The chat leaves its agent for the head of its queue, for someone else (reason: the feed's).
local function pass_on(reason)
  local to = transition(ARGV[16], status)
  if not to then return {'noop'} end
  requeue(KEYS[2], KEYS[4], KEYS[8], KEYS[3], channel, conv_id, c[2], to, ARGV[4],
    'requeued', 'Your chat is passing to the next available agent', keys,
    'conversation.requeued', reason)
  return {'fired'}
end
-- After a breach: the agent still silent this much longer loses the chat (reassign on breach).
local function reassign_later()
  if n(ARGV[23]) > 0 and c[2] and c[2] ~= '' then
    schedule(KEYS[1], 'brs|' .. conv_id, ARGV[4], ARGV[23])
  end
end

if kind == 'frt' then
  if c[6] or not c[5] then return {'noop'} end
  local ms, worked = now - n(c[5]), n(ARGV[21])
  if worked < n(ARGV[9]) then return short('first', 'first_response', worked, n(ARGV[9]), c[5]) end
  redis.call('HSET', KEYS[2], 'sla_first_breached_at', ARGV[4])
  record_latency(KEYS[9], 'sla_first_breach', conv_id, c[2], tostring(ms), ARGV[4],
    c[3])
  say('sla_breach', 'First response target missed')
  redis.call('PUBLISH', channel, pack_breach(conv_id, 'first', c[2] or ''))
  feed(keys, 'sla.breached', conv_id, now, {clock = 'first_response', agent_id = c[2] or '',
    target_ms = n(ARGV[9]), waited_ms = ms, business_waited_ms = worked})
  reassign_later()
  return {'fired'}
elseif kind == 'nrt' then
  if not c[6] or not c[7] or c[7] == '' then return {'noop'} end
  local ms, worked = now - n(c[7]), n(ARGV[21])
  if worked < n(ARGV[10]) then return short('next', 'next_response', worked, n(ARGV[10]), c[7]) end
  redis.call('HINCRBY', KEYS[2], 'sla_next_breaches', 1)
  record_latency(KEYS[9], 'sla_next_breach', conv_id, c[2], tostring(ms), ARGV[4],
    c[3])
  say('sla_breach', 'Next response target missed')
  redis.call('PUBLISH', channel, pack_breach(conv_id, 'next', c[2] or ''))
  feed(keys, 'sla.breached', conv_id, now, {clock = 'next_response', agent_id = c[2] or '',
    target_ms = n(ARGV[10]), waited_ms = ms, business_waited_ms = worked})
  reassign_later()
  return {'fired'}
elseif kind == 'nudge' or kind == 'park' then
  if status ~= 'waiting_on_visitor' or n(c[9]) > n(c[8]) then return {'noop'} end
  if kind == 'nudge' then
    if now - n(c[8]) < n(ARGV[11]) then return later(n(c[8]), n(ARGV[11])) end
    say('nudge', 'Are you still there?')
    schedule(KEYS[1], 'park|' .. conv_id, ARGV[4], ARGV[12])
  else
    if c[13] and c[13] ~= '' then return {'noop'} end
    redis.call('HSET', KEYS[2], 'parked', ARGV[4])
    say('parked', 'This chat is paused. Write any time to continue.')
  end
  return {'fired'}
elseif kind == 'qto' then
  if status ~= 'queued' or (c[12] and c[12] ~= '') then return {'noop'} end
  if now - n(c[10]) < n(ARGV[19]) then return later(n(c[10]), n(ARGV[19])) end
  redis.call('HSET', KEYS[2], 'offline_offered', ARGV[4])
  say('queue_timeout', 'All our agents are busy right now. Leave your email and we will get back to you.')
  schedule(KEYS[1], 'followup|' .. conv_id, ARGV[4], ARGV[25])
  redis.call('ZADD', KEYS[1], now, 'mail|' .. conv_id)  -- the team's offline-message alert
  return {'fired'}
elseif kind == 'followup' then
  -- Still nobody's, and the visitor left an address: remind the supervisors, and again later.
  if status ~= 'queued' then return {'noop'} end
  schedule(KEYS[1], 'followup|' .. conv_id, ARGV[4], ARGV[25])
  if (redis.call('HGET', KEYS[6], 'email') or '') == '' then return {'later'} end
  redis.call('ZADD', KEYS[1], now, 'mail|' .. conv_id)  -- the team's alert, if not sent yet
  redis.call('PUBLISH', channel, pack_follow_up(conv_id))
  return {'fired'}
elseif kind == 'assign' then
  if not (status == 'assigned' or status == 'waiting_on_agent') or c[2] == nil or c[2] == ''
      or n(c[8]) >= n(c[11]) or not c[7] or c[7] == '' then
    return {'noop'}
  end
  if now - n(c[11]) < n(ARGV[15]) then return later(n(c[11]), n(ARGV[15])) end
  return pass_on('agent_silent')
elseif kind == 'brs' then
  -- Still the agent who missed the target, silent since (the timer was set at the breach,
  -- ARGV 23 ago), and the visitor still waits for them.
  if not (status == 'assigned' or status == 'waiting_on_agent') or not c[2] or c[2] == ''
      or not c[7] or c[7] == '' or n(c[8]) >= now - n(ARGV[23]) then
    return {'noop'}
  end
  return pass_on('sla_breach')
elseif kind == 'snooze' then
  -- Still this snooze (a message, or the agent, ended it otherwise).
  if not c[15] or c[15] == '' or n(c[15]) > now then return {'noop'} end
  redis.call('HSET', KEYS[2], 'snoozed_until', '')
  if status == 'waiting_on_visitor' and c[2] and c[2] ~= ''
      and redis.call('EXISTS', KEYS[12]) == 1 then
    say('snooze_ended', 'The snooze ended')
    return {'fired'}
  end
  -- Its agent is gone: back to the queue, for whoever is there.
  return pass_on('snooze_ended')
elseif kind == 'vgone' or kind == 'abandon' then
  local here, left = visitor_present(KEYS[7], now)
  if here then
    -- Back: a later leaving keeps a place of its own.
    if c[18] and c[18] ~= '' then redis.call('HDEL', KEYS[2], 'place_kept_since') end
    return {'present'}
  end
  -- Keep my place (core/keep_place.py): nobody answered yet, and the chat is queued or was
  -- taken after they left; kept until keep-place after they left, or after it was taken.
  local keep = n(ARGV[27])
  if kind == 'vgone' and keep > 0 and not c[6] then
    local since = left or tonumber(c[18] or '') or (now - n(ARGV[13]))
    local taken = n(c[11])
    if status == 'queued' or taken >= since then
      local upto = math.max(since, taken) + keep
      if now < upto then
        if n(c[18]) ~= since then
          redis.call('HSET', KEYS[2], 'place_kept_since', since)
          say('place_kept', 'The visitor left; their place is kept for '
            .. math.ceil((upto - now) / 60000) .. ' min')
        end
        -- Taken while they were away, before this grace ended (claim.lua saw no mark yet):
        -- the mail step tells them an agent is ready.
        if status ~= 'queued' then redis.call('ZADD', KEYS[1], now, 'mail|' .. conv_id) end
        redis.call('ZADD', KEYS[1], upto, ARGV[1])
        return {'later'}
      end
    end
  end
  local email = redis.call('HGET', KEYS[6], 'email') or ''
  -- A visitor who left an email is waiting for a reply by mail: keep it queued.
  if status == 'queued' and email ~= '' then return {'noop'} end
  if kind == 'vgone' and not c[6] then
    local to = transition(ARGV[17], status)
    if to then
      finish(keys, channel, conv_id, to, 'system', '', '', ARGV[4], 'missed',
        'The visitor left before anyone answered')
      return {'fired'}
    end
  end
  if kind == 'vgone' then
    local rest = n(ARGV[14]) - n(ARGV[13])
    schedule(KEYS[1], 'abandon|' .. conv_id, ARGV[4], tostring(math.max(rest, 1)))
    return {'later'}
  end
  local to = transition(ARGV[18], status)
  finish(keys, channel, conv_id, to, 'system', '', '', ARGV[4], 'abandoned',
    'The visitor left and the chat was closed')
  return {'fired'}
end
return {'unknown'}
