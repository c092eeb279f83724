-- One step of an agent's two-factor sign-in state (chatserver/store/accounts_security.py):
-- every check of a code and what it changes happen in one step, so two sign-ins racing with
-- the same code (or recovery code) cannot both pass.
-- KEYS: 1 the agent's two-factor hash
-- ARGV: 1 op: begin | enable | code | recovery
--   begin:    2 new secret                      -> {'ok'} | {'err', 'enabled'}
--   enable:   2 secret, 3 step, 4 now (ms), 5.. recovery digests
--                                               -> {'ok'} | {'err', 'enabled' | 'stale'}
--   code:     2 secret, 3 step, 4 disable (1|0) -> {'ok'} | {'err', 'stale' | 'replayed'}
--   recovery: 2 digest, 3 disable (1|0)         -> {'ok', codes left} | {'err', 'invalid'}
local key = KEYS[1]
local op = ARGV[1]

local function remaining()
  local n = 0
  for _, field in ipairs(redis.call('HKEYS', key)) do
    if string.sub(field, 1, 3) == 'rc:' then n = n + 1 end
  end
  return n
end

if op == 'begin' then
  if redis.call('HEXISTS', key, 'secret') == 1 then return {'err', 'enabled'} end
  redis.call('HSET', key, 'pending', ARGV[2])
  return {'ok'}
end

if op == 'enable' then
  if redis.call('HEXISTS', key, 'secret') == 1 then return {'err', 'enabled'} end
  if redis.call('HGET', key, 'pending') ~= ARGV[2] then return {'err', 'stale'} end
  redis.call('DEL', key)
  redis.call('HSET', key, 'secret', ARGV[2], 'last_step', ARGV[3], 'enabled_at', ARGV[4])
  for i = 5, #ARGV do
    redis.call('HSET', key, 'rc:' .. ARGV[i], '1')
  end
  return {'ok'}
end

if op == 'code' then
  -- The secret the caller checked the code against must still be the one in force.
  if redis.call('HGET', key, 'secret') ~= ARGV[2] then return {'err', 'stale'} end
  if tonumber(ARGV[3]) <= tonumber(redis.call('HGET', key, 'last_step') or '-1') then
    return {'err', 'replayed'}
  end
  if ARGV[4] == '1' then
    redis.call('DEL', key)
  else
    redis.call('HSET', key, 'last_step', ARGV[3])
  end
  return {'ok'}
end

if op == 'recovery' then
  if redis.call('HEXISTS', key, 'secret') == 0 then return {'err', 'invalid'} end
  if redis.call('HDEL', key, 'rc:' .. ARGV[2]) == 0 then return {'err', 'invalid'} end
  if ARGV[3] == '1' then
    redis.call('DEL', key)
    return {'ok', 0}
  end
  return {'ok', remaining()}
end

return {'err', 'unknown_op'}
