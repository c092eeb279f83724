-- Save one of an agent's own canned responses, within the limit of how many they may keep:
-- the count and the write in one step, so two tabs saving at once cannot pass it.
-- KEYS: 1 the agent's canned texts (hash shortcut -> text)
-- ARGV: 1 shortcut, 2 text, 3 the most entries the agent may keep
-- Returns 'created', 'updated', or 'limit' (a new entry past the limit: nothing saved).
local canned_key = KEYS[1]
local shortcut, text, max = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('HEXISTS', canned_key, shortcut) == 1 then
  redis.call('HSET', canned_key, shortcut, text)
  return 'updated'
end
if redis.call('HLEN', canned_key) >= max then return 'limit' end
redis.call('HSET', canned_key, shortcut, text)
return 'created'
