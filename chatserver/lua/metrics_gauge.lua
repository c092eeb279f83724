-- Keep the highest value of each gauge sampled within one minute: every node samples, and
-- the chart shows the worst moment of the minute whichever node saw it.
-- KEYS: 1 the minute's hash
-- ARGV: 1 retention (ms), then field, value pairs
for i = 2, #ARGV, 2 do
  local old = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '-1')
  if tonumber(ARGV[i + 1]) > old then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
