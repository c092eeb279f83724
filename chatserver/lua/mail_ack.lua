-- The node that claimed an e-mail reports what happened (chatserver/mail/sender.py): sent
-- (or kept in the local outbox), to be retried at a later time, or failed for good. Only
-- the lease's holder may answer: a node whose lease ran out lost the mail to another.
-- A mail of a conversation that fails says so in the conversation, to its agents only
-- (the system event mail_failed), in the same step.
-- KEYS: 1 due zset, 2 leases zset, 3 mail hash, 4 its conversation's hash and 5 messages
--       stream (the mail hash again, twice, for a mail of no conversation)
-- ARGV: 1 mail id, 2 node id, 3 op (sent|retry|failed), 4 now (ms), 5 status when sent
--       (sent|outbox) or the next try (ms) when retried, 6 error ('' none), 7 how long a
--       finished mail is kept (ms), 8 channel, 9 conversation id ('' none), 10 the line the
--       agents read when it failed
local due_key, leases_key, mail_key, conv_key, stream_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4],
  KEYS[5]
local mail_id, node, op, now, arg, err, keep =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local channel, conv_id, line = ARGV[8], ARGV[9], ARGV[10]
if redis.call('HGET', mail_key, 'holder') ~= node then return {'lost'} end
redis.call('ZREM', leases_key, mail_id)
if op == 'sent' then
  redis.call('HSET', mail_key, 'status', arg, 'sent_at', now, 'holder', '', 'last_error', err)
  redis.call('PEXPIRE', mail_key, keep)
elseif op == 'retry' then
  redis.call('HSET', mail_key, 'status', 'retrying', 'next_at', arg, 'holder', '',
    'last_error', err, 'last_attempt_at', now)
  redis.call('ZADD', due_key, arg, mail_id)
elseif op == 'failed' then
  redis.call('HSET', mail_key, 'status', 'failed', 'failed_at', now, 'holder', '',
    'last_error', err, 'last_attempt_at', now)
  redis.call('PEXPIRE', mail_key, keep)
  if conv_id ~= '' and redis.call('EXISTS', conv_key) == 1 then
    system_message(conv_key, stream_key, channel, conv_id, 'mail_failed', '', '', line, now)
  end
else
  return {'err', 'unknown op'}
end
return {'ok'}
