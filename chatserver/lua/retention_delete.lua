-- Retention: delete one ended conversation that is older than the site keeps (its messages,
-- client ids and index entries), and the visitor's record once nothing of theirs is left and
-- they have not been seen for as long; a visitor seen since gets the record's expiry instead.
-- Re-checked here: a conversation reopened since it was listed is left alone.
-- KEYS: 1 ended zset, 2 conversation index zset, 3 conversation hash, 4 messages stream,
--       5 client ids hash, 6 visitor hash, 7 visitor's conversations zset, 8 visitor presence
--       hash, 9 verified users hash, 10 e-mail index hash, 11 timers zset, 12 its search
--       entry (string), 13 search to-index zset, 14 search vocabulary zset, 15 the pages of
--       the visitor's current visit (list)
-- ARGV: 1 conversation id, 2 its visitor id as the caller read it, 3 cutoff (ms: ended at or
--       before it goes), 4 now (ms), 5 the site's retention (ms), 6 the search postings' key
--       prefix (keys.search_postings_prefix: the postings are named by the entry's tokens)
-- Returns {'deleted', visitor_deleted 0|1}, {'later'}, {'open'}, {'gone'} or {'retry', visitor}.
local ended_key, index_key, conv_key, stream_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local cids_key, visitor_key, vconvs_key, presence_key = KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local users_key, emails_key, timers_key = KEYS[9], KEYS[10], KEYS[11]
local doc_key, todo_key, vocab_key = KEYS[12], KEYS[13], KEYS[14]
local pages_key = KEYS[15]
local conv_id, visitor_id = ARGV[1], ARGV[2]
local cutoff, now, keep_ms = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local postings_prefix = ARGV[6]

local c = redis.call('HMGET', conv_key, 'status', 'ended_at', 'visitor')
if not c[1] then
  redis.call('ZREM', ended_key, conv_id)
  redis.call('ZREM', index_key, conv_id)
  unindex(doc_key, todo_key, vocab_key, postings_prefix, conv_id)
  return {'gone'}
end
if (c[3] or '') ~= visitor_id then return {'retry', c[3] or ''} end
if is_open(c[1]) then
  redis.call('ZREM', ended_key, conv_id)  -- listed again when it ends
  return {'open'}
end
local ended_at = tonumber(c[2] or '') or 0
if ended_at > cutoff then
  redis.call('ZADD', ended_key, ended_at, conv_id)
  return {'later'}
end
redis.call('DEL', conv_key, stream_key, cids_key)
redis.call('ZREM', ended_key, conv_id)
redis.call('ZREM', index_key, conv_id)
unindex(doc_key, todo_key, vocab_key, postings_prefix, conv_id)
for _, kind in ipairs(TIMER_KINDS) do redis.call('ZREM', timers_key, kind .. '|' .. conv_id) end
if visitor_id == '' then return {'deleted', 0} end
redis.call('ZREM', vconvs_key, conv_id)
if redis.call('HGET', visitor_key, 'last_conv') == conv_id then
  redis.call('HDEL', visitor_key, 'last_conv')
end
if redis.call('ZCARD', vconvs_key) > 0 or redis.call('EXISTS', visitor_key) == 0 then
  return {'deleted', 0}
end
local v = redis.call('HMGET', visitor_key, 'last_seen', 'user_id')
local last_seen = tonumber(v[1] or '') or 0
if last_seen > cutoff or visitor_present(presence_key, now) then
  -- Nothing of theirs is left: the record goes a retention period after they were last here.
  redis.call('PEXPIRE', visitor_key, math.max(1, last_seen + keep_ms - now))
  if redis.call('PTTL', pages_key) == -1 then
    redis.call('PEXPIRE', pages_key, math.max(1, last_seen + keep_ms - now))
  end
  return {'deleted', 0}
end
if v[2] and v[2] ~= '' and redis.call('HGET', users_key, v[2]) == visitor_id then
  redis.call('HDEL', users_key, v[2])
end
index_email(emails_key, visitor_key, visitor_id, '')
redis.call('DEL', visitor_key, vconvs_key, pages_key)
return {'deleted', 1}
