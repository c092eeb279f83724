-- Record an uploaded file whose bytes are already in the file storage, and list it as
-- pending (no message carries it yet), in one step.
-- KEYS: 1 the file's record (hash), 2 the site's pending uploads (zset id -> uploaded at)
-- ARGV: 1 file id, 2 now (ms), then field, value pairs of the record
local file_key, pending_key = KEYS[1], KEYS[2]
local file_id, now = ARGV[1], ARGV[2]
local fields = {}
for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', file_key, unpack(fields))
redis.call('ZADD', pending_key, now, file_id)
return 1
