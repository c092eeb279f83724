-- Is this open conversation one that nobody owns and no queue holds (the invariant the
-- dashboard watches)? Re-checked in one step, so a conversation that moved between the
-- dashboard's reads is not reported: it answers 1 only while the conversation still has the
-- status, agent and department the caller read and lacks its queue entry or its agent's
-- load entry.
-- KEYS: 1 conversation hash, 2 the queue of the department read, 3 the load set of the agent
--       read (any key of the site when none was)
-- ARGV: 1 conversation id, 2 status read, 3 agent read, 4 department read
local conv_key, queue_key, load_key = KEYS[1], KEYS[2], KEYS[3]
local conv_id, status, agent, department = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local c = redis.call('HMGET', conv_key, 'status', 'agent', 'department')
if c[1] ~= status or (c[2] or '') ~= agent or (c[3] or '') ~= department then return 0 end
if not is_open(status) then return 0 end
if status == 'queued' then
  return redis.call('ZSCORE', queue_key, conv_id) and 0 or 1
end
if agent == '' then return 1 end
return redis.call('SISMEMBER', load_key, conv_id) == 1 and 0 or 1
