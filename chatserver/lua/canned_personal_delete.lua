-- Delete one of an agent's own canned responses and its usage count in one step.
-- KEYS: 1 the agent's canned texts (hash), 2 their usage counts (hash shortcut -> count)
-- ARGV: 1 shortcut
-- Returns 1 when there was such an entry, else 0.
local canned_key, uses_key = KEYS[1], KEYS[2]
local shortcut = ARGV[1]
redis.call('HDEL', uses_key, shortcut)
return redis.call('HDEL', canned_key, shortcut)
