-- A verified identity (chatserver/identity.py checked its signature) joins the visitor record
-- of its user: one record per user id and site, which every device and browser continues.
-- The first time a user is seen, the socket's own visitor becomes theirs (what they wrote
-- before signing in stays theirs), unless it is already another user's: then a new record.
-- A record once bound to a user is never bound to another.
-- KEYS: 1 the site's users hash (user id -> visitor id), 2 the socket's visitor hash,
--       3 the hash of the visitor the users hash named when the caller read it (the socket's
--       when it named none), 4 a spare new visitor hash, 5 site hash, 6 feed stream,
--       7 the site's e-mail index
-- ARGV: 1 user id, 2 the socket's visitor id, 3 the visitor id the caller read ('' for none),
--       4 the spare visitor id, 5 site, 6 now (ms), 7 name, 8 email
-- Returns {'ok', visitor id, open conversation id or ''}; or {'moved', visitor id} when the
-- users hash changed since the caller read it (call again with that id: nothing was written).
local users, current_key, seen_key, spare_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local fk = {site = KEYS[5], feed = KEYS[6]}
local user_id, current_id, seen_id, spare_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local site, now, name, email = ARGV[5], ARGV[6], ARGV[7], ARGV[8]

local mapped = redis.call('HGET', users, user_id) or ''
if mapped ~= seen_id then return {'moved', mapped} end

local target, key = mapped, seen_key
if mapped == '' or redis.call('EXISTS', seen_key) == 0 then
  -- First sign-in of this user on this site (or their record is gone).
  target, key = current_id, current_key
  local owner = redis.call('HGET', current_key, 'user_id')
  if owner and owner ~= '' and owner ~= user_id then target, key = spare_id, spare_key end
  redis.call('HSET', users, user_id, target)
end
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'id', target, 'site', site, 'created_at', now)
end
index_email(KEYS[7], key, target, email)
redis.call('HSET', key, 'user_id', user_id, 'name', name, 'email', email, 'verified_at', now)
local conv_id = redis.call('HGET', key, 'open_conv') or ''
feed(fk, 'visitor.updated', conv_id, now, {visitor_id = target, name = name, email = email})
return {'ok', target, conv_id}
