-- Resolve a conversation (see finish() in _lib.lua for everything that moves with it).
-- KEYS: 1 conversation hash, 2 messages stream, 3 queue zset, 4 open zset, 5 visitor hash,
--       6 the assigned agent's conversations set (any unused key when there is none),
--       7 timers zset, 8 latency stream, 9 site hash, 10 feed stream, 11 ended zset
-- ARGV: 1 conversation id, 2 now, 3 channel, 4 by kind (visitor|agent), 5 by id, 6 by name,
--       7 transition map (resolve), 8 the agent id the caller believes is assigned ('' if none)
local k = {conv = KEYS[1], stream = KEYS[2], queue = KEYS[3], open = KEYS[4], visitor = KEYS[5],
  agent_convs = KEYS[6], timers = KEYS[7], latency = KEYS[8], site = KEYS[9], feed = KEYS[10], ended = KEYS[11]}
local conv_id, now, channel = ARGV[1], ARGV[2], ARGV[3]
local kind, by, by_name, resolve_map, believed_agent = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local c = redis.call('HMGET', k.conv, 'status', 'agent', 'visitor')
if not c[1] then return {'err', 'not_found'} end
if kind == 'visitor' and c[3] ~= by then return {'err', 'forbidden'} end
if kind == 'agent' and c[2] ~= by then return {'err', 'forbidden'} end
local target = transition(resolve_map, c[1])
if not target then return {'err', 'closed', c[1]} end
if (c[2] or '') ~= believed_agent then return {'retry', c[2] or ''} end
local id = finish(k, channel, conv_id, target, kind, by, by_name, now, 'resolved',
  'The chat was resolved')
return {'ok', id}
