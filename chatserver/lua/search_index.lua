-- Search: post one conversation under the tokens its new messages brought (chatserver/search.py
-- tokenizes them in Python) and move its indexed cursor past them, in one step. Fenced: a
-- caller whose cursor is stale (another node indexed meanwhile) writes nothing; a
-- conversation gone (retention) or being erased is taken out of the index instead.
-- KEYS: 1 conversation hash, 2 its search entry (string '<cursor> <token> ...'), 3 the site's
--       to-index zset, 4 the site's vocabulary zset
-- ARGV: 1 conversation id, 2 the cursor the caller read ('' none yet), 3 the new cursor (the
--       last message id read), 4 the to-index score the caller read ('' to leave the entry:
--       more messages wait), 5 the postings' key prefix (keys.search_postings_prefix),
--       6.. the new tokens (a token starting with \1 is an agent who took part: posted, but
--       kept out of the vocabulary, which only words' prefixes expand through)
-- Returns 'ok', 'moved' (stale cursor), 'gone' or 'erased'.
local conv_key, doc_key, todo_key, vocab_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local conv_id, read_cursor, new_cursor, read_score = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local postings_prefix = ARGV[5]

local doc = redis.call('GET', doc_key)
local c = redis.call('HMGET', conv_key, 'created_at', 'erased_at')
if not c[1] or c[2] then  -- gone, or being erased: out of the index
  unindex(doc_key, todo_key, vocab_key, postings_prefix, conv_id)
  return c[1] and 'erased' or 'gone'
end
local cursor = doc and string.match(doc, '^%S+') or ''
if cursor ~= read_cursor then return 'moved' end
local created = tonumber(c[1]) or 0
local added = {}
for i = 6, #ARGV do
  local tok = ARGV[i]
  redis.call('ZADD', postings_prefix .. tok, created, conv_id)
  if string.byte(tok, 1) ~= 1 then redis.call('ZADD', vocab_key, 0, tok) end
  added[#added + 1] = tok
end
local rest = doc and string.sub(doc, #cursor + 1) or ''
local tail = #added > 0 and (' ' .. table.concat(added, ' ')) or ''
redis.call('SET', doc_key, new_cursor .. rest .. tail)
if read_score ~= '' and tonumber(redis.call('ZSCORE', todo_key, conv_id) or '-1') == tonumber(read_score) then
  redis.call('ZREM', todo_key, conv_id)  -- no message came since the caller looked
end
return 'ok'
