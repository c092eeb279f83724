-- Search: take or renew the lease that lets one node index a site at a time (the indexing is
-- fenced by its cursors anyway; the lease only saves doing the work twice).
-- KEYS: 1 the lease (string with a TTL)
-- ARGV: 1 this node, 2 the lease's length (ms)
-- Returns 1 when this node holds it now, else 0.
local lease_key = KEYS[1]
local node, ttl = ARGV[1], ARGV[2]
local holder = redis.call('GET', lease_key)
if holder and holder ~= node then return 0 end
redis.call('SET', lease_key, node, 'PX', ttl)
return 1
