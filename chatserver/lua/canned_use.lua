-- Count one insertion of a canned response (shared or personal): only an entry that exists
-- is counted, so a stale picker cannot leave counts of deleted entries behind.
-- KEYS: 1 the set's texts (hash shortcut -> text), 2 its usage counts (hash shortcut -> count)
-- ARGV: 1 shortcut
-- Returns the new count, or -1 when there is no such entry.
local canned_key, uses_key = KEYS[1], KEYS[2]
local shortcut = ARGV[1]
if redis.call('HEXISTS', canned_key, shortcut) == 0 then return -1 end
return redis.call('HINCRBY', uses_key, shortcut, 1)
