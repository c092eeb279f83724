-- Count one upload against its uploader's hourly limits (how many files, how many bytes), or
-- refuse it; both limits are checked and taken in this one step, across every node.
-- KEYS: 1 the uploader's uploads (sorted set '<file id>:<bytes>' -> expiry ms)
-- ARGV: 1 now (ms), 2 file id, 3 its bytes, 4 most files (0: no limit), 5 most bytes (0: no
--       limit), 6 window (ms)
-- Returns {0} when counted, else {ms until enough has expired, 'count' | 'bytes'}.
local key = KEYS[1]
local now, file_id, size = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local max_files, max_bytes, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local held = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
local count, bytes = #held / 2, 0
for i = 1, #held, 2 do
  bytes = bytes + tonumber(string.match(held[i], ':(%d+)$') or '0')
end
if max_files > 0 and count + 1 > max_files then
  return {math.max(1, tonumber(held[2]) - now), 'count'}
end
if max_bytes > 0 and bytes + size > max_bytes then
  -- The wait: until the oldest uploads that must expire for this one to fit have expired.
  local need, wait = bytes + size - max_bytes, 1
  for i = 1, #held, 2 do
    need = need - tonumber(string.match(held[i], ':(%d+)$') or '0')
    wait = tonumber(held[i + 1]) - now
    if need <= 0 then break end
  end
  if need > 0 then return {-1, 'bytes'} end  -- larger than the whole hourly budget
  return {math.max(1, wait), 'bytes'}
end
redis.call('ZADD', key, now + window, file_id .. ':' .. tostring(size))
redis.call('PEXPIRE', key, window)
return {0}
