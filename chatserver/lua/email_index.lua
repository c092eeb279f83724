-- Retention's one-time backfill: index the e-mail a visitor record already holds (records
-- written before the e-mail index existed), read and written in one step.
-- KEYS: 1 visitor hash, 2 e-mail index hash
-- ARGV: 1 visitor id
local visitor_key, emails_key, visitor_id = KEYS[1], KEYS[2], ARGV[1]
local email = string.lower(redis.call('HGET', visitor_key, 'email') or '')
if email == '' then return 0 end
local ids = redis.call('HGET', emails_key, email) or ''
if string.find(' ' .. ids .. ' ', ' ' .. visitor_id .. ' ', 1, true) then return 0 end
redis.call('HSET', emails_key, email, ids == '' and visitor_id or (ids .. ' ' .. visitor_id))
return 1
