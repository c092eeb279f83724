-- The replies up to ARGV[2] were mailed (or the visitor was back to read them): forget the
-- start mark, or move it to ARGV[2] when the conversation went on meanwhile (the step set
-- again by those messages mails them). A mark changed since it was read is left alone.
-- KEYS: 1 conversation hash, 2 messages stream
-- ARGV: 1 the mark as the step read it, 2 the last message id the step looked at
if redis.call('HGET', KEYS[1], 'mail_reply_after') ~= ARGV[1] then return 0 end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if last[1] and last[1][1] ~= ARGV[2] then
  redis.call('HSET', KEYS[1], 'mail_reply_after', ARGV[2])
else
  redis.call('HDEL', KEYS[1], 'mail_reply_after')
end
return 1
