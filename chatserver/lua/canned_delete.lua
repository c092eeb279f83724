-- Delete a shared canned response: its text, its file's record and its usage count in one step.
-- KEYS: 1 the site's canned texts (hash), 2 their files (hash shortcut -> metadata JSON),
--       3 their usage counts (hash shortcut -> count)
-- ARGV: 1 shortcut
-- Returns the metadata of the file it had ('' none): the caller deletes its bytes.
local canned_key, files_key, uses_key = KEYS[1], KEYS[2], KEYS[3]
local shortcut = ARGV[1]
local old = redis.call('HGET', files_key, shortcut) or ''
redis.call('HDEL', canned_key, shortcut)
redis.call('HDEL', files_key, shortcut)
redis.call('HDEL', uses_key, shortcut)
return old
