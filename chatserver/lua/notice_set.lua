-- Post (or replace) the site's notice and ring the doorbell in the same step, so the notice
-- every node pushes to its visitors is always the one stored, whatever the order of two posts.
-- KEYS: 1 the site's notice (string)
-- ARGV: 1 the notice as stored (JSON), 2 its expiry (ms since the epoch), 3 the site's
--       channel, 4 what visitors receive (JSON)
-- Returns 1.
local notice_key = KEYS[1]
local stored, expires_at, channel, public = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('SET', notice_key, stored)
redis.call('PEXPIREAT', notice_key, expires_at)
redis.call('PUBLISH', channel, pack_notice(public))
return 1
