-- Assign a queued conversation to the first candidate agent that can take it now.
-- The only place assignments happen: the conversation must still be queued and the agent
-- present, online (or picking by hand) and under capacity, all checked in this one step.
-- KEYS: 1 conversation hash, 2 queue zset, 3 messages stream, then for each candidate:
--       agent state hash, presence key, agent's conversations set; then timers zset,
--       latency stream, site hash, feed stream
-- ARGV: 1 conversation id, 2 now, 3 channel, 4 manual ('1' or '0'), 5 transition map (assign),
--       6 reassign-if-silent delay (ms, 0 off), 7 number of candidates, 8.. candidate ids
local c = redis.call('HMGET', KEYS[1], 'status', 'agent', 'visitor', 'department',
  'queued_at', 'unanswered_since', 'skip_agent', 'place_kept_since')
if not c[1] then return {'err', 'not_found'} end
local target = transition(ARGV[5], c[1])
if not target then return {'err', 'conflict', c[2] or ''} end
local now = ARGV[2]
local manual = ARGV[4] == '1'
local n = tonumber(ARGV[7])
local timers_key, latency_key = KEYS[n * 3 + 4], KEYS[n * 3 + 5]
local fk = {site = KEYS[n * 3 + 6], feed = KEYS[n * 3 + 7]}
-- An agent who let this chat time out is tried last, so it moves on when anyone else can.
local order = {}
local skipped = nil
for i = 1, n do
  if not manual and ARGV[7 + i] == c[7] and n > 1 then skipped = i else order[#order + 1] = i end
end
if skipped then order[#order + 1] = skipped end
for _, i in ipairs(order) do
  local agent_id = ARGV[7 + i]
  local state_key, presence_key, convs_key = KEYS[i * 3 + 1], KEYS[i * 3 + 2], KEYS[i * 3 + 3]
  local ok, name = can_take(state_key, presence_key, convs_key, manual)
  if ok then
    redis.call('ZREM', KEYS[2], ARGV[1])
    redis.call('HSET', KEYS[1], 'status', target, 'agent', agent_id, 'agent_name', name,
      'assigned_at', now)
    local wait = tostring(tonumber(now) - tonumber(c[5] or now))
    if not redis.call('HGET', KEYS[1], 'first_assigned_at') then
      redis.call('HSET', KEYS[1], 'first_assigned_at', now, 'wait_ms', wait)
    end
    record_latency(latency_key, 'wait', ARGV[1], agent_id, wait, now, c[4])
    redis.call('SADD', convs_key, ARGV[1])
    redis.call('HSET', state_key, 'last_assigned', now)
    redis.call('ZREM', timers_key, 'qto|' .. ARGV[1])
    if c[6] and c[6] ~= '' then schedule(timers_key, 'assign|' .. ARGV[1], now, ARGV[6]) end
    -- Its visitor left and their place was kept (timer.lua 'vgone'): the mail step tells
    -- them an agent is ready, if they are still away (it looks; their open tabs get
    -- 'assigned' below).
    if c[8] and c[8] ~= '' then redis.call('ZADD', timers_key, now, 'mail|' .. ARGV[1]) end
    local id = system_message(KEYS[1], KEYS[3], ARGV[3], ARGV[1], 'assigned', agent_id, name,
      name .. ' joined the chat', now)
    redis.call('PUBLISH', ARGV[3], pack_assigned(ARGV[1], agent_id, name, c[3] or ''))
    redis.call('PUBLISH', ARGV[3], pack_queue(c[4] or ''))
    feed(fk, 'conversation.assigned', ARGV[1], now, {agent_id = agent_id, agent_name = name,
      by = manual and 'hand' or 'routing', wait_ms = tonumber(wait)})
    return {'ok', agent_id, id}
  end
end
if manual then return {'err', 'capacity'} end
return {'err', 'none'}
