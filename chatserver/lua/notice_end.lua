-- Take the site's notice down and tell every node, in one step (nothing is told when there
-- was none).
-- KEYS: 1 the site's notice (string)
-- ARGV: 1 the site's channel
-- Returns 1 when a notice was taken down, 0 when there was none.
local notice_key = KEYS[1]
local channel = ARGV[1]
if redis.call('DEL', notice_key) == 0 then return 0 end
redis.call('PUBLISH', channel, pack_notice(''))
return 1
