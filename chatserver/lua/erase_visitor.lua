-- Erasure of a person (chatserver/privacy.py), last step: once each of their conversations is
-- tombstoned, their visitor record, its list of conversations and the index entries that
-- point at it go, in one step. A conversation they started while the erasure ran (the erased
-- ones cannot be reopened) is new and stays theirs: the record then keeps only its id and
-- that conversation, and nothing of what it said about them.
-- KEYS: 1 visitor hash, 2 visitor's conversations zset, 3 verified users hash,
--       4 e-mail index hash, 5 the pages of their current visit (list)
-- ARGV: 1 visitor id, 2.. the erased conversations
-- Returns {'deleted'} or {'kept', the open conversation}.
local visitor_key, vconvs_key, users_key, emails_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local pages_key = KEYS[5]
local visitor_id = ARGV[1]
local v = redis.call('HMGET', visitor_key, 'open_conv', 'user_id')
if v[2] and v[2] ~= '' and redis.call('HGET', users_key, v[2]) == visitor_id then
  redis.call('HDEL', users_key, v[2])
end
index_email(emails_key, visitor_key, visitor_id, '')
redis.call('DEL', pages_key)  -- where they went on the site is about them too
local open = v[1] or ''
if open == '' then
  redis.call('DEL', visitor_key, vconvs_key)
  return {'deleted'}
end
for i = 2, #ARGV do redis.call('ZREM', vconvs_key, ARGV[i]) end
local fields = redis.call('HKEYS', visitor_key)
for _, name in ipairs(fields) do
  if name ~= 'id' and name ~= 'site' and name ~= 'open_conv' then
    redis.call('HDEL', visitor_key, name)
  end
end
return {'kept', open}
