-- A visitor's page view (a `page` frame), or the end of one (their socket closed, url ''):
-- the record's page fields and 'last_active' (what the next hello's visit count measures
-- the gap from, lua/visitor_seen.lua) are stored, and a page joins this visit's pages list.
-- Nothing is written for a record that is gone (expired or erased): it is not re-created.
-- KEYS: 1 visitor hash, 2 this visit's pages list (newest first)
-- ARGV: 1 now (ms), 2 retention (ms, 0 keeps everything), 3 pages kept, 4 the page's url
--       ('' for none), 5 its pages-list entry (JSON), then field, value pairs
-- Returns 1, or 0 when the record is gone.
local visitor_key, pages_key = KEYS[1], KEYS[2]
local now, keep_ms, kept, url, entry = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
if redis.call('EXISTS', visitor_key) == 0 then return 0 end
for i = 6, #ARGV, 2 do redis.call('HSET', visitor_key, ARGV[i], ARGV[i + 1]) end
redis.call('HSET', visitor_key, 'last_active', now)
-- A record without a conversation expires on its own: the list goes with it, not later.
local ttl = redis.call('PTTL', visitor_key)
add_page(pages_key, url, entry, kept, ttl > 0 and ttl or keep_ms)
return 1
