-- An agent snoozes a chat that waits on the visitor, until a time (or ends the snooze): it
-- leaves the agent's working list until then, without nudging the visitor, and the durable
-- timer 'snooze|<conv>' brings it back (timer.lua: to the agent, or to the queue if they
-- are gone). Any message ends a snooze early (send.lua).
-- KEYS: 1 conversation hash, 2 messages stream, 3 timers zset
-- ARGV: 1 conversation id, 2 agent id, 3 agent name, 4 now (ms), 5 channel,
--       6 until (ms; '0' ends the snooze now), 7 the text of the system message
local conv_key, stream_key, timers_key = KEYS[1], KEYS[2], KEYS[3]
local conv_id, agent, agent_name, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local channel, until_ms, text = ARGV[5], ARGV[6], ARGV[7]
local c = redis.call('HMGET', conv_key, 'status', 'agent', 'snoozed_until')
if not c[1] then return {'err', 'not_found'} end
if not is_open(c[1]) then return {'err', 'closed', c[1]} end
if c[2] ~= agent then return {'err', 'forbidden'} end
if until_ms == '0' then
  if not c[3] or c[3] == '' then return {'err', 'conflict', 'not_snoozed'} end
  redis.call('HSET', conv_key, 'snoozed_until', '')
  redis.call('ZREM', timers_key, 'snooze|' .. conv_id)
  return {'ok', system_message(conv_key, stream_key, channel, conv_id, 'snooze_ended', agent,
    agent_name, text, now)}
end
-- Only a chat whose visitor owes the next word: one that waits on the agent needs an answer.
if c[1] ~= 'waiting_on_visitor' then return {'err', 'conflict', c[1]} end
redis.call('HSET', conv_key, 'snoozed_until', until_ms)
redis.call('ZADD', timers_key, until_ms, 'snooze|' .. conv_id)
redis.call('ZREM', timers_key, 'nudge|' .. conv_id, 'park|' .. conv_id)
return {'ok', system_message(conv_key, stream_key, channel, conv_id, 'snoozed', agent,
  agent_name, text, now)}
