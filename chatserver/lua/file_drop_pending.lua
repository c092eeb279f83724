-- Forget an upload no message used, unless one has used it meanwhile (then it stays).
-- KEYS: 1 the file's record, 2 the site's pending uploads
-- ARGV: 1 file id
-- Returns 1 when forgotten (its bytes may go), else 0.
local file_key, pending_key, file_id = KEYS[1], KEYS[2], ARGV[1]
redis.call('ZREM', pending_key, file_id)
local msg = redis.call('HGET', file_key, 'msg')
if msg and msg ~= '' then return 0 end
redis.call('DEL', file_key)
return 1
