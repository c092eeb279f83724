-- Whether each conversation is where it should be, for a page of them in one step: its
-- department's queue (a sorted set) or its agent's load set. Read-only.
-- KEYS: for each conversation, the queue or load set that should hold it
-- ARGV: 1 each conversation's kind, one letter each ('q' queue, 's' load set), 2 their
--       ids, space-separated (two arguments for a page, not two per conversation)
-- Returns 1 or 0 for each conversation, in order.
local holders, kinds, ids_joined = KEYS, ARGV[1], ARGV[2]
local out, i = {}, 0
for id in string.gmatch(ids_joined, '%S+') do
  i = i + 1
  if string.sub(kinds, i, i) == 'q' then
    out[i] = redis.call('ZSCORE', holders[i], id) and 1 or 0
  else
    out[i] = redis.call('SISMEMBER', holders[i], id)
  end
end
return out
