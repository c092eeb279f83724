-- Shared helpers, prepended to every script by chatserver.scripts.

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

-- Append a system event to the conversation and ring the doorbell for it.
local function system_message(conv_key, stream_key, channel, conv_id, event, agent_id, name, text, now)
  local prev = redis.call('HGET', conv_key, 'last_id') or '0-0'
  local id = redis.call('XADD', stream_key, '*', 'k', 'system', 'e', event, 's', agent_id,
    'n', name, 'c', '', 't', text, 'ts', now)
  redis.call('HSET', conv_key, 'last_id', id)
  redis.call('PUBLISH', channel, cmsgpack.pack({'m', conv_id, id, prev, 'system', agent_id, name,
    '', text, tonumber(now), event}))
  return id
end
