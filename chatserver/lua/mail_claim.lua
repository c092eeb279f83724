-- A node claims one due e-mail to send it (chatserver/mail/sender.py): the mail leaves the
-- due set for the leases set, with a lease that expires unless the node answers first. A
-- mail whose lease expired (its node died mid-send) is claimed again here by any node.
-- KEYS: 1 due zset, 2 leases zset, 3 mail hash
-- ARGV: 1 mail id, 2 now (ms), 3 lease (ms), 4 node id
local due_key, leases_key, mail_key = KEYS[1], KEYS[2], KEYS[3]
local mail_id, now, lease, node = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local due = redis.call('ZSCORE', due_key, mail_id)
local held = redis.call('ZSCORE', leases_key, mail_id)
if due and tonumber(due) <= now then
  redis.call('ZREM', due_key, mail_id)
elseif not (held and tonumber(held) <= now) then
  return {'gone'}
end
if redis.call('EXISTS', mail_key) == 0 then
  redis.call('ZREM', leases_key, mail_id)
  return {'gone'}
end
redis.call('ZADD', leases_key, now + lease, mail_id)
redis.call('HSET', mail_key, 'status', 'sending', 'holder', node, 'claimed_at', now)
redis.call('HINCRBY', mail_key, 'attempts', 1)
local out = {'ok'}
for _, v in ipairs(redis.call('HGETALL', mail_key)) do out[#out + 1] = v end
return out
