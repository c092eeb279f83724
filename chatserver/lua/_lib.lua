-- Shared helpers, prepended to every script by chatserver.scripts, after its generated
-- prelude (chatserver.scripts.prelude): one packer per event kind, pack_<kind>(fields in the
-- order chatserver.events declares them), and the constants OPEN (the open states),
-- TIMER_KINDS (the conversation timers), PRIORITY_STEP and MAX_PRIORITY (the queue score).

-- The state machine lives in Python (chatserver.core.states); callers pass the table of the
-- event they apply as "from=to;from=to", and the script applies it to the state it reads,
-- atomically, so a stale caller can never force an illegal move.
local function transition(map, status)
  for pair in string.gmatch(map, '([^;]+)') do
    local from, to = string.match(pair, '([^=]+)=(.+)')
    if from == status then return to end
  end
  return nil
end

-- The open states: the conversation still needs someone.
local function is_open(status)
  return status ~= nil and status ~= false and OPEN[status] == true
end

-- Append a system event to the conversation and ring the doorbell for it.
local function system_message(conv_key, stream_key, channel, conv_id, event, agent_id, name, text, now)
  local prev = redis.call('HGET', conv_key, 'last_id') or '0-0'
  local id = redis.call('XADD', stream_key, '*', 'k', 'system', 'e', event, 's', agent_id,
    'n', name, 'c', '', 't', text, 'ts', now)
  redis.call('HSET', conv_key, 'last_id', id)
  redis.call('PUBLISH', channel, pack_message(conv_id, id, prev, 'system', agent_id, name, '', text,
    tonumber(now), event, ''))
  return id
end

-- Append an authored entry (a note, a whisper, a bot's message) after prev, remember its
-- client id (the same id is stored once) and ring the doorbell for it; returns its id.
local function append_entry(conv_key, stream_key, client_ids_key, channel, conv_id, prev, kind,
                            sender, name, client_id, text, now)
  local id = redis.call('XADD', stream_key, '*', 'k', kind, 's', sender, 'n', name,
    'c', client_id, 't', text, 'ts', now)
  redis.call('HSET', client_ids_key, client_id, id .. ' ' .. now)
  redis.call('HSET', conv_key, 'last_id', id)
  redis.call('PUBLISH', channel, pack_message(conv_id, id, prev, kind, sender, name, client_id,
    text, tonumber(now), '', ''))
  return id
end

-- Whether a socket of the visitor is open, and when their last one closed (the presence
-- hash's 'left', nil once it expired): node ids hold expiries, 'left' a time passed.
local function visitor_present(presence_key, now)
  local p = redis.call('HGETALL', presence_key)
  local left = nil
  for i = 2, #p, 2 do
    if p[i - 1] == 'left' then left = tonumber(p[i])
    elseif tonumber(p[i]) > now then return true, nil end
  end
  return false, left
end

-- This visit's pages (lua/visitor_seen.lua, visitor_pages.lua): the newest first, at most
-- `kept`, an immediate repeat of the newest url (a reload) not added again; the list expires
-- `keep_ms` after its last page (the record's own expiry or the retention; 0: never). url ''
-- adds nothing.
local function add_page(pages_key, url, entry, kept, keep_ms)
  if url == '' then return end
  local ok, head = pcall(cjson.decode, redis.call('LINDEX', pages_key, 0) or '')
  if ok and type(head) == 'table' and head.url == url then return end
  redis.call('LPUSH', pages_key, entry)
  redis.call('LTRIM', pages_key, 0, kept - 1)
  if keep_ms > 0 then redis.call('PEXPIRE', pages_key, keep_ms) end
end

-- Keep the site's e-mail index (e-mail -> visitor ids, for export and erasure by e-mail) in
-- step with the e-mail a visitor's record is about to hold; call before writing it.
local function index_email(emails_key, visitor_key, visitor_id, email)
  local old = string.lower(redis.call('HGET', visitor_key, 'email') or '')
  local new = string.lower(email or '')
  if old == new then return end
  if old ~= '' then
    local kept = {}
    for id in string.gmatch(redis.call('HGET', emails_key, old) or '', '%S+') do
      if id ~= visitor_id then kept[#kept + 1] = id end
    end
    if #kept > 0 then redis.call('HSET', emails_key, old, table.concat(kept, ' '))
    else redis.call('HDEL', emails_key, old) end
  end
  if new ~= '' then
    local ids = redis.call('HGET', emails_key, new) or ''
    if not string.find(' ' .. ids .. ' ', ' ' .. visitor_id .. ' ', 1, true) then
      redis.call('HSET', emails_key, new, ids == '' and visitor_id or (ids .. ' ' .. visitor_id))
    end
  end
end

-- The site's public feed (chatserver.feed): one entry per change, in the step that makes it,
-- while the site has webhooks (its 'feed' setting). fk: {site = hash, feed = stream}, the
-- calling script's last two KEYS. data: a table, stored as JSON.
local function feed(fk, event_type, conv_id, now, data)
  if redis.call('HGET', fk.site, 'feed') ~= '1' then return end
  redis.call('XADD', fk.feed, 'MINID', '~', tostring(tonumber(now) - FEED_RETENTION_MS), '*',
    't', event_type, 'c', conv_id, 'ts', tostring(now), 'd', cjson.encode(data))
end

-- Durable timers: one sorted set per site, member 'kind|subject', score the due time; a
-- later schedule of the same member moves its deadline.
-- A delay of 0 means the site turned that timer off.
local function schedule(timers_key, member, now, delay_ms)
  local delay = tonumber(delay_ms)
  if delay and delay > 0 then
    redis.call('ZADD', timers_key, tonumber(now) + delay, member)
  end
end

-- Abuse limits (chatserver/limits.py; core/leases.py is the rule): a key is a sorted set of
-- leases, member -> expiry (ms), holding at most `limit` unexpired ones. lease_wait is 0 when
-- one more fits, else the ms until it will; lease_take adds one.
local function lease_wait(key, now, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local n = redis.call('ZCARD', key)
  if n < limit then return 0 end
  local e = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
  return math.max(1, tonumber(e[2]) - now)
end

local function lease_take(key, member, now, expiry)
  redis.call('ZADD', key, expiry, member)
  -- Relative, so that a caller's clock a little off Redis's cannot drop the key early.
  if redis.call('PTTL', key) < expiry - now then redis.call('PEXPIRE', key, expiry - now) end
end

-- Latency records for the dashboard, written when the moment happens (capped stream); the
-- dashboard folds them into hourly buckets (store/dashboard.py). dept: the conversation's.
local function record_latency(latency_key, kind, conv_id, agent_id, ms, now, dept)
  redis.call('XADD', latency_key, 'MAXLEN', '~', 200000, '*', 'k', kind, 'c', conv_id,
    'a', agent_id or '', 'ms', ms, 'ts', now, 'd', dept or '')
end

-- An agent's status changes: the period of 'online' or 'away' that ends is recorded (its
-- length in ms), so the dashboard can add up each agent's time online.
local function set_agent_status(state_key, latency_key, agent_id, status, now)
  local a = redis.call('HMGET', state_key, 'status', 'status_since')
  if a[1] == status then return false end
  local since = tonumber(a[2] or '')
  if since and (a[1] == 'online' or a[1] == 'away') then
    record_latency(latency_key, a[1], '', agent_id, tostring(math.max(0, tonumber(now) - since)),
      now, '')
  end
  redis.call('HSET', state_key, 'status', status, 'status_since', now)
  return true
end

-- Put a handled conversation back in its queue ahead of newer arrivals (it keeps its place
-- by creation time) and free the agent's slot; the visitor is told why. The feed records it
-- as feed_type (conversation.requeued, or .transferred for a transfer to a department).
local function requeue(conv_key, queue_key, agent_convs_key, stream_key, channel, conv_id,
                       agent_id, status_to, now, event, text, fk, feed_type, reason, unassigned)
  local c = redis.call('HMGET', conv_key, 'priority', 'created_at', 'department')
  local priority = math.max(0, math.min(MAX_PRIORITY, tonumber(c[1] or '0')))
  local score = (MAX_PRIORITY - priority) * PRIORITY_STEP + tonumber(c[2] or now)
  redis.call('HSET', conv_key, 'status', status_to, 'agent', '', 'agent_name', '',
    'queued_at', now, 'skip_agent', agent_id, 'snoozed_until', '')
  redis.call('SREM', agent_convs_key, conv_id)
  redis.call('ZADD', queue_key, score, conv_id)
  local id = system_message(conv_key, stream_key, channel, conv_id, event, '', '', text, now)
  -- unassigned: the reason the agent's sockets are told (the event's name when nil)
  redis.call('PUBLISH', channel, pack_unassigned(conv_id, agent_id, unassigned or event))
  redis.call('PUBLISH', channel, pack_queue(c[3] or ''))
  feed(fk, feed_type, conv_id, now, {from_agent_id = agent_id, department = c[3] or '',
    reason = reason})
  return id
end

-- End a conversation (resolved, missed or abandoned): it leaves the queue, the open set and
-- its agent's load together, its timers are dropped, and the visitor may reopen it later.
-- k: conv, stream, queue, open, visitor, agent_convs, timers, latency, site, feed, ended (keys)
local function finish(k, channel, conv_id, status_to, by_kind, by_id, by_name, now, event, text)
  local c = redis.call('HMGET', k.conv, 'agent', 'visitor', 'department', 'assigned_at',
    'created_at')
  local agent = c[1] or ''
  redis.call('HSET', k.conv, 'status', status_to, 'ended_at', now, 'ended_by', by_kind,
    'unanswered_since', '', 'snoozed_until', '')
  local ms = tostring(tonumber(now) - tonumber(c[5] or now))
  if status_to == 'resolved' then
    redis.call('HSET', k.conv, 'resolved_at', now, 'resolved_by', by_kind)
    redis.call('HSET', k.conv, 'resolution_ms', ms)
    record_latency(k.latency, 'resolution', conv_id, agent, ms, now, c[3])
  else  -- missed or abandoned: counted by the dashboard (ms: since the chat was created)
    record_latency(k.latency, status_to, conv_id, agent, ms, now, c[3])
  end
  if agent ~= '' then redis.call('SREM', k.agent_convs, conv_id) end
  local was_queued = redis.call('ZREM', k.queue, conv_id)
  redis.call('ZREM', k.open, conv_id)
  redis.call('ZADD', k.ended, now, conv_id)  -- retention deletes it from here once old enough
  if redis.call('HGET', k.visitor, 'open_conv') == conv_id then
    redis.call('HDEL', k.visitor, 'open_conv')
  end
  redis.call('HSET', k.visitor, 'last_conv', conv_id)
  for _, kind in ipairs(TIMER_KINDS) do redis.call('ZREM', k.timers, kind .. '|' .. conv_id) end
  local id = system_message(k.conv, k.stream, channel, conv_id, event, by_id, by_name, text, now)
  redis.call('PUBLISH', channel, pack_ended(conv_id, by_kind, c[2] or '', agent,
    tonumber(c[4] or '') or 0, tonumber(now), status_to))
  if was_queued == 1 then redis.call('PUBLISH', channel, pack_queue(c[3] or '')) end
  feed(k, 'conversation.' .. status_to, conv_id, now, {by = by_kind, by_id = by_id,
    agent_id = agent, visitor_id = c[2] or '', department = c[3] or ''})
  -- The mail step (chatserver/mail/alerts.py): the team's alert of a missed or abandoned
  -- chat, the transcript of a resolved one when the site sends it.
  if status_to ~= 'resolved' or redis.call('HGET', k.site, 'transcript_auto') == '1' then
    redis.call('ZADD', k.timers, now, 'mail|' .. conv_id)
  end
  return id
end

-- Whether an agent can take one more chat at this instant: present (heartbeat alive), online
-- (or away when acting by hand) and under capacity. The set of held conversations is the load:
-- no counter that could drift from the truth. Returns ok, the agent's name and, when not ok,
-- the error code ('agent_unavailable' or 'capacity').
local function can_take(state_key, presence_key, convs_key, by_hand)
  local a = redis.call('HMGET', state_key, 'status', 'capacity', 'name')
  local name = a[3] or ''
  if redis.call('EXISTS', presence_key) ~= 1
      or not (a[1] == 'online' or (by_hand and a[1] == 'away')) then
    return false, name, 'agent_unavailable'
  end
  if redis.call('SCARD', convs_key) >= tonumber(a[2] or '0') then
    return false, name, 'capacity'
  end
  return true, name, ''
end

-- A conversation moves to another department: its running response clocks count the new
-- department's hours from now on, and what they counted before stays counted. While a clock
-- runs, 'department_changes' keeps [at, department before] for each move since the earliest
-- running clock began (chatserver/core/department_hours.py reads it); the clocks' timers are
-- brought forward to now, to be judged again under the new hours.
local function change_department(conv_key, timers_key, conv_id, department, now)
  local c = redis.call('HMGET', conv_key, 'department', 'first_visitor_msg_at',
    'first_agent_reply_at', 'unanswered_since', 'department_changes')
  local before = c[1] or ''
  if before == department then return end
  local earliest = nil
  if c[2] and c[2] ~= '' and not c[3] then earliest = tonumber(c[2]) end
  if c[4] and c[4] ~= '' then
    earliest = math.min(earliest or tonumber(c[4]), tonumber(c[4]))
  end
  local log = {}
  if earliest then
    local ok, old = pcall(cjson.decode, c[5] or '')
    if ok and type(old) == 'table' then
      for _, e in ipairs(old) do
        if type(e) == 'table' and (tonumber(e[1]) or 0) > earliest then table.insert(log, e) end
      end
    end
    table.insert(log, {tostring(now), before})
    redis.call('ZADD', timers_key, 'XX', 'LT', now, 'frt|' .. conv_id)
    redis.call('ZADD', timers_key, 'XX', 'LT', now, 'nrt|' .. conv_id)
  end
  redis.call('HSET', conv_key, 'department', department,
    'department_changes', #log > 0 and cjson.encode(log) or '')
end

-- Search (chatserver/search.py): take a conversation out of the index in the caller's step:
-- its postings, the words only it held (from the vocabulary), its entry (whose first word is
-- the indexed cursor, the rest its words) and its place in the to-index set. Every key is the
-- site's (one Cluster slot); the postings' names are built from its words.
local function unindex(doc_key, todo_key, vocab_key, postings_prefix, conv_id)
  local doc = redis.call('GET', doc_key)
  if doc then
    local first = true
    for tok in string.gmatch(doc, '%S+') do
      if first then first = false else
        local pk = postings_prefix .. tok
        redis.call('ZREM', pk, conv_id)
        if redis.call('EXISTS', pk) == 0 then redis.call('ZREM', vocab_key, tok) end
      end
    end
    redis.call('DEL', doc_key)
  end
  redis.call('ZREM', todo_key, conv_id)
end
