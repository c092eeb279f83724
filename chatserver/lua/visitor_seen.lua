-- A visitor's socket said hello: their record is stored (details, page, last seen) with the
-- e-mail index kept in step, and a record with no conversation gets the site's retention as
-- its expiry (a visitor who never writes leaves nothing behind for long; opening a
-- conversation persists it, see open.lua).
-- Visits (chatserver/core/visits.py) are counted here, in the same step: a hello starts a new
-- one when no socket of theirs is open and their last activity (hello, page view, socket
-- closed: the record's 'last_active') is older than the gap; a new visit empties the pages
-- list, and the hello's page (if any) becomes its newest entry.
-- KEYS: 1 visitor hash, 2 visitor's conversations zset, 3 e-mail index hash, 4 this visit's
--       pages list (newest first), 5 visitor presence hash
-- ARGV: 1 visitor id, 2 retention (ms, 0 keeps everything), 3 now (ms), 4 visit gap (ms),
--       5 pages kept, 6 the page's url ('' for none), 7 its pages-list entry (JSON),
--       then field, value pairs
-- Returns {visits, visit_started}.
local visitor_key, vconvs_key, emails_key = KEYS[1], KEYS[2], KEYS[3]
local pages_key, presence_key = KEYS[4], KEYS[5]
local visitor_id, keep_ms, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local gap_ms, kept, url, entry = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[7]

-- Read before the fields are written: the caller's copy of the record may be stale (another
-- tab's hello in between), and these three are the script's own.
local v = redis.call('HMGET', visitor_key, 'visits', 'visit_started', 'last_active', 'last_seen')
local visits = tonumber(v[1] or '') or 0
local started = tonumber(v[2] or '')
local last = tonumber(v[3] or '') or tonumber(v[4] or '') or 0
local present = visitor_present(presence_key, now)
if visits == 0 or not started or (not present and now - last > gap_ms) then
  visits = visits + 1
  started = now
  redis.call('DEL', pages_key)
end

for i = 8, #ARGV, 2 do
  local name = ARGV[i]
  if name ~= 'visits' and name ~= 'visit_started' and name ~= 'last_active' then
    if name == 'email' then index_email(emails_key, visitor_key, visitor_id, ARGV[i + 1]) end
    redis.call('HSET', visitor_key, name, ARGV[i + 1])
  end
end
redis.call('HSET', visitor_key, 'visits', visits, 'visit_started', started, 'last_active', now)
if keep_ms > 0 and redis.call('EXISTS', vconvs_key) == 0 then
  redis.call('PEXPIRE', visitor_key, keep_ms)
else
  redis.call('PERSIST', visitor_key)
end
add_page(pages_key, url, entry, kept, keep_ms)
return {visits, started}
