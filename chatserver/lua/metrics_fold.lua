-- Fold a run of latency records into the dashboard's hourly buckets, exactly once across
-- nodes: the caller read the records after the cursor it passes; if another node moved the
-- cursor since, nothing is written and the caller reads again.
-- KEYS: 1 cursor string, 2 cumulative histograms hash, 3.. hour bucket lists
-- ARGV: 1 expected cursor ('' for none yet), 2 new cursor, 3 bucket retention (ms),
--       4 msgpack map of histogram increments, 5.. msgpack list of records per bucket key
local cursor_key, histograms_key = KEYS[1], KEYS[2]  -- KEYS[3..]: the hour buckets
local expected, new_cursor, retention, increments = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local cur = redis.call('GET', cursor_key) or ''
if cur ~= expected then return 0 end
redis.call('SET', cursor_key, new_cursor)
for field, n in pairs(cmsgpack.unpack(increments)) do
  redis.call('HINCRBY', histograms_key, field, n)
end
for i = 3, #KEYS do
  local items = cmsgpack.unpack(ARGV[i + 2])
  for j = 1, #items, 500 do
    redis.call('RPUSH', KEYS[i], unpack(items, j, math.min(j + 499, #items)))
  end
  redis.call('PEXPIRE', KEYS[i], retention)
end
return 1
