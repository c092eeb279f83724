-- A visitor's socket said hello: their record is stored (details, page, last seen) with the
-- e-mail index kept in step, and a record with no conversation gets the site's retention as
-- its expiry (a visitor who never writes leaves nothing behind for long; opening a
-- conversation persists it, see open.lua).
-- KEYS: 1 visitor hash, 2 visitor's conversations zset, 3 e-mail index hash
-- ARGV: 1 visitor id, 2 retention (ms, 0 keeps everything), then field, value pairs
local visitor_key, vconvs_key, emails_key = KEYS[1], KEYS[2], KEYS[3]
local visitor_id, keep_ms = ARGV[1], tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  if ARGV[i] == 'email' then index_email(emails_key, visitor_key, visitor_id, ARGV[i + 1]) end
  redis.call('HSET', visitor_key, ARGV[i], ARGV[i + 1])
end
if keep_ms > 0 and redis.call('EXISTS', vconvs_key) == 0 then
  redis.call('PEXPIRE', visitor_key, keep_ms)
else
  redis.call('PERSIST', visitor_key)
end
return 1
