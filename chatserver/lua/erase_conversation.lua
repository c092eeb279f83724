-- Erasure of a person (chatserver/privacy.py), one conversation of theirs. First (ARGV 2 '')
-- it is only marked: from then on it cannot be reopened, by the person writing again or by an
-- agent, so once it has ended nothing new of theirs lands in it. Then, ended, its stream is
-- rewritten into a copy whose entries keep their ids, kinds, times and client ids but lose
-- every text, and the person's id and name (tombstones: cursors, replays and the order stay
-- as they were), a batch per call; the call that copies the last entries swaps the copy in
-- and strips the conversation's personal fields in the same step, so an entry that arrived
-- between calls is erased too.
-- KEYS: 1 conversation hash, 2 messages stream, 3 the copy being built (this run's own scratch
--       stream, which expires an hour after the last call if the run dies), 4 its search
--       entry (string), 5 search to-index zset, 6 search vocabulary zset
-- ARGV: 1 the visitor id, 2 the last entry id copied so far ('0-0' at first; '' to mark
--       only), 3 batch size, 4 now (ms), 5 the search postings' key prefix
--       (keys.search_postings_prefix: the postings are named by the entry's tokens),
--       6 the conversation id
-- Once marked, search indexes nothing more of it (lua/search_index.lua); the last call takes
-- it out of the index.
-- Returns {'marked'}, {'more', last id copied} or {'done', entries erased in all}.
local conv_key, stream_key, copy_key = KEYS[1], KEYS[2], KEYS[3]
local visitor_id, after, batch, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local doc_key, todo_key, vocab_key, postings_prefix = KEYS[4], KEYS[5], KEYS[6], ARGV[5]
local conv_id = ARGV[6]

if redis.call('HGET', conv_key, 'visitor') ~= visitor_id then return {'done', 0} end
redis.call('HSETNX', conv_key, 'erased_at', now)
if after == '' then return {'marked'} end
local entries = redis.call('XRANGE', stream_key, '(' .. after, '+', 'COUNT', batch)
for _, entry in ipairs(entries) do
  local f, kind, sender = {}, '', ''
  for i = 1, #entry[2], 2 do
    f[entry[2][i]] = entry[2][i + 1]
  end
  kind, sender = f.k or '', f.s or ''
  local theirs = kind == 'visitor' or sender == visitor_id
  if theirs then f.s, f.n = '', '' end
  if kind ~= 'system' or theirs then f.t = '' end
  if kind ~= 'system' then f.e, f.f = 'erased', nil end  -- a file's name goes too (f)
  local flat = {}
  for name, value in pairs(f) do
    flat[#flat + 1] = name
    flat[#flat + 1] = value
  end
  redis.call('XADD', copy_key, entry[1], unpack(flat))
end
if #entries > 0 then redis.call('PEXPIRE', copy_key, 3600000) end
if #entries == batch then return {'more', entries[#entries][1]} end
local erased = 0
if redis.call('EXISTS', copy_key) == 1 then
  erased = redis.call('XLEN', copy_key)
  redis.call('RENAME', copy_key, stream_key)
  redis.call('PERSIST', stream_key)
end
redis.call('HDEL', conv_key, 'visitor_name', 'rating_comment', 'labels')  -- labels: label_set.lua
unindex(doc_key, todo_key, vocab_key, postings_prefix, conv_id)
return {'done', erased}
