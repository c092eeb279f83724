-- Add a site to the set of sites and, if it is new, bump the set's version, which every
-- node's cached copy of the set checks (chatserver/store/sites.py list_sites).
-- Both keys hash to one Redis Cluster slot ('cs:sites' and '{cs:sites}:version').
local sites_key, version_key = KEYS[1], KEYS[2]
local site = ARGV[1]
local added = redis.call('SADD', sites_key, site)
if added == 1 then redis.call('INCR', version_key) end
return added
