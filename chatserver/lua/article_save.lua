-- Create a help article of the site or replace one, in one step: the site's limit is checked
-- where the article is written, so two writers saving at once cannot both pass it.
-- KEYS: 1 the site's articles (hash id -> JSON record, chatserver/core/articles.py)
-- ARGV: 1 article id, 2 'create' | 'update', 3 the record (JSON), 4 the most articles a
--       site has
-- Returns {'ok'} or {'err', code}: not_found (update of no such article), too_many (create
-- past the limit).
local articles_key = KEYS[1]
local article_id, mode, record = ARGV[1], ARGV[2], ARGV[3]
local max_articles = tonumber(ARGV[4])
local exists = redis.call('HEXISTS', articles_key, article_id) == 1
if mode == 'update' and not exists then return {'err', 'not_found'} end
if mode == 'create' then
  if exists then return {'err', 'duplicate'} end
  if redis.call('HLEN', articles_key) >= max_articles then return {'err', 'too_many'} end
end
redis.call('HSET', articles_key, article_id, record)
return {'ok'}
