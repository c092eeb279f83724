-- Queue one e-mail (chatserver/mail/queue.py). With a "once" field it is queued at most once
-- per conversation and reason: the field on the conversation names the mail already queued,
-- so an alert fired twice (two nodes, a retried step) still makes one mail.
-- KEYS: 1 mail hash, 2 due zset, 3 outbox log zset, 4 conversation hash (the mail hash again
--       when the mail belongs to no conversation), 5 the site's timers zset
-- ARGV: 1 mail id, 2 now (ms), 3 once field on the conversation ('' none), 4 log cap,
--       5 '1': mark the conversation as waiting for an e-mail reply (and remind the
--       supervisors after 6, the follow-up period in ms, 0 off, of conversation 7), then
--       field, value pairs
local mail_key, due_key, log_key, conv_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local timers_key = KEYS[5]
local mail_id, now, once, cap, mark = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]
local follow_up_ms, conv_id = ARGV[6], ARGV[7]
if once ~= '' then
  if redis.call('EXISTS', conv_key) == 0 then return {'gone', ''} end
  local earlier = redis.call('HGET', conv_key, once)
  if earlier then return {'dup', earlier} end
end
for i = 8, #ARGV, 2 do redis.call('HSET', mail_key, ARGV[i], ARGV[i + 1]) end
redis.call('HSET', mail_key, 'id', mail_id, 'status', 'queued', 'attempts', 0,
  'created_at', now, 'next_at', now)
redis.call('ZADD', due_key, now, mail_id)
redis.call('ZADD', log_key, now, mail_id)
if redis.call('ZCARD', log_key) > cap then
  redis.call('ZREMRANGEBYRANK', log_key, 0, -(cap + 1))
end
if once ~= '' then redis.call('HSET', conv_key, once, mail_id) end
if mark == '1' then
  redis.call('HSET', conv_key, 'awaiting_email_reply', now)
  redis.call('HDEL', conv_key, 'follow_ups')  -- the closed chat's reminder count starts again
  -- Reminders while nobody answers (timer.lua 'followup'), closed chats included.
  schedule(timers_key, 'followup|' .. conv_id, now, follow_up_ms)
end
return {'ok', mail_id}
