-- Which of a page's visitors have a live socket on some node, in one step. Read-only.
-- KEYS: each visitor's presence hash (node id -> expiry ms; 'left' -> when they left)
-- ARGV: 1 now (ms)
-- Returns 1 or 0 for each visitor, in order.
local presences, now = KEYS, tonumber(ARGV[1])
local out = {}
for i = 1, #presences do
  out[i] = 0
  local flat = redis.call('HGETALL', presences[i])
  for j = 1, #flat, 2 do
    local until_ms = tonumber(flat[j + 1])
    if flat[j] ~= 'left' and until_ms and until_ms > now then
      out[i] = 1
      break
    end
  end
end
return out
