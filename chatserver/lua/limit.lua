-- Take one lease on every key, or none (the abuse limits; chatserver/core/leases.py is the
-- reference of the rule): each key is a sorted set member -> expiry (ms) holding at most
-- `limit` unexpired leases. Optionally publish a payload in the same step when admitted (a
-- typing event costs one round trip, as a plain PUBLISH did).
-- KEYS: the keys, all of one hash slot
-- ARGV: 1 now (ms), 2 member, then per key: limit, expiry (ms);
--       after them, optionally: channel, payload
-- Returns {0} when admitted, else {wait ms, index of the first key that refused}.
local now = tonumber(ARGV[1])
local member = ARGV[2]
for i = 1, #KEYS do
  local wait = lease_wait(KEYS[i], now, tonumber(ARGV[1 + 2 * i]))
  if wait > 0 then return {wait, i} end
end
for i = 1, #KEYS do
  lease_take(KEYS[i], member, now, tonumber(ARGV[2 + 2 * i]))
end
local channel = ARGV[3 + 2 * #KEYS]
if channel then redis.call('PUBLISH', channel, ARGV[4 + 2 * #KEYS]) end
return {0}
