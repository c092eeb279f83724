-- A visitor's name or e-mail changes (they told the widget, or the REST API set it): stored,
-- and recorded in the feed with the same step (visitor.updated).
-- An e-mail left during an open chat wakes the mail step (the offline form's alert).
-- KEYS: 1 visitor hash, 2 site hash, 3 feed stream, 4 the site's e-mail index, 5 timers zset
-- ARGV: 1 visitor id, 2 now, then field, value pairs (name, email)
local visitor_key, fk = KEYS[1], {site = KEYS[2], feed = KEYS[3]}
local visitor_id, now = ARGV[1], ARGV[2]
local data = {visitor_id = visitor_id}
for i = 3, #ARGV, 2 do
  if ARGV[i] == 'email' then index_email(KEYS[4], visitor_key, visitor_id, ARGV[i + 1]) end
  redis.call('HSET', visitor_key, ARGV[i], ARGV[i + 1])
  data[ARGV[i]] = ARGV[i + 1]
end
local conv_id = redis.call('HGET', visitor_key, 'open_conv') or ''
feed(fk, 'visitor.updated', conv_id, now, data)
if conv_id ~= '' and (data.email or '') ~= '' then
  redis.call('ZADD', KEYS[5], now, 'mail|' .. conv_id)
end
return conv_id
