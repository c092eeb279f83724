-- Fold a run of latency records into the dashboard's hourly buckets, exactly once across
-- nodes: the caller read the records after the cursor it passes; if another node moved the
-- cursor since, nothing is written and the caller reads again.
-- KEYS: 1 cursor string, 2 cumulative histograms hash, 3.. hour bucket lists
-- ARGV: 1 expected cursor ('' for none yet), 2 new cursor, 3 bucket retention (ms),
--       4 msgpack map of histogram increments, 5.. msgpack list of records per bucket key
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
for field, n in pairs(cmsgpack.unpack(ARGV[4])) do
  redis.call('HINCRBY', KEYS[2], field, n)
end
for i = 3, #KEYS do
  local items = cmsgpack.unpack(ARGV[i + 2])
  for j = 1, #items, 500 do
    redis.call('RPUSH', KEYS[i], unpack(items, j, math.min(j + 499, #items)))
  end
  redis.call('PEXPIRE', KEYS[i], ARGV[3])
end
return 1
