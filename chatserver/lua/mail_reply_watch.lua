-- An agent wrote (chatserver/mail/replies.py): when the conversation's visitor has no socket
-- open anywhere and left an e-mail, remember where the replies to mail start (the earliest of
-- a burst's, whichever node's call comes first) and set the conversation's mail step for when
-- the burst has been quiet long enough (each reply moves it later, so a burst makes one mail).
-- The checks and the write are one step: a visitor who reconnects between them is seen.
-- KEYS: 1 conversation hash, 2 timers zset, 3 the visitor's presence hash, 4 the visitor hash
-- ARGV: 1 conversation id, 2 the id before the reply, 3 when the step is due (ms), 4 now (ms)
local conv_key, timers_key, presence_key, visitor_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local conv_id, prev, due, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if redis.call('EXISTS', conv_key) == 0 then return 0 end
local function before(a, b)  -- stream ids 'ms-seq', compared as numbers
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return false end
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local mark = redis.call('HGET', conv_key, 'mail_reply_after')
if not mark then  -- else a burst is under way: move its step later
  if visitor_present(presence_key, now) then return 0 end
  if (redis.call('HGET', visitor_key, 'email') or '') == '' then return 0 end
end
if not mark or before(prev, mark) then redis.call('HSET', conv_key, 'mail_reply_after', prev) end
redis.call('ZADD', timers_key, due, 'mail|' .. conv_id)
return 1
