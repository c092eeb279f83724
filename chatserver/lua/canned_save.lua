-- Save a canned response's text and, in the same step, keep, set or remove its file, so the
-- text and the file it names never disagree (chatserver/files/canned.py).
-- KEYS: 1 the site's canned texts (hash shortcut -> text), 2 their files (hash shortcut ->
--       the file's metadata, JSON)
-- ARGV: 1 shortcut, 2 text ('' leaves the text as it is), 3 'keep' | 'set' | 'remove',
--       4 the new file's metadata (JSON, for 'set')
-- Returns the metadata of the file this replaced or removed ('' none): its bytes may go.
local canned_key, files_key = KEYS[1], KEYS[2]
local shortcut, text, mode, file_meta = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if text ~= '' then
  redis.call('HSET', canned_key, shortcut, text)
elseif redis.call('HEXISTS', canned_key, shortcut) == 0 then
  -- a file alone is no canned response: nothing to change (the caller deletes new bytes)
  if mode == 'set' then return file_meta end
  return ''
end
if mode == 'keep' then return '' end
local old = redis.call('HGET', files_key, shortcut) or ''
if mode == 'set' then
  redis.call('HSET', files_key, shortcut, file_meta)
else
  redis.call('HDEL', files_key, shortcut)
end
return old
