-- The mail step of a conversation is done (chatserver/mail/alerts.py): its timer goes, unless
-- a later change set it again meanwhile (a new deadline), which then runs the step again.
-- KEYS: 1 timers zset
-- ARGV: 1 member ('mail|<conversation>'), 2 the deadline the step ran for (ms)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
