-- Delete a canned response: its text and its file's record in one step.
-- KEYS: 1 the site's canned texts (hash), 2 their files (hash shortcut -> metadata JSON)
-- ARGV: 1 shortcut
-- Returns the metadata of the file it had ('' none): the caller deletes its bytes.
local canned_key, files_key, shortcut = KEYS[1], KEYS[2], ARGV[1]
local old = redis.call('HGET', files_key, shortcut) or ''
redis.call('HDEL', canned_key, shortcut)
redis.call('HDEL', files_key, shortcut)
return old
