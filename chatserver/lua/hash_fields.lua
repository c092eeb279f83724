-- Read the same fields of many hashes in one step (a page of conversations for the
-- dashboard or the sweeper): one reply instead of one per hash. Read-only.
-- KEYS: the hashes
-- ARGV: the fields
-- Returns one array per hash, the fields' values in order (nil where missing).
local hashes, fields = KEYS, ARGV
local out = {}
for i = 1, #hashes do
  out[i] = redis.call('HMGET', hashes[i], unpack(fields))
end
return out
