-- Add, remove or set a conversation's labels in one step, and ring the doorbell so every
-- console showing it updates. The labels are the conversation hash's 'labels' field (space
-- separated ids): the search query reads that field, so the index's label data changes in
-- this same step, and erasure and retention delete it with the hash.
-- KEYS: 1 conversation hash, 2 the site's labels (hash id -> JSON)
-- ARGV: 1 conversation id, 2 'add' | 'remove' | 'set', 3 the acting agent's id ('' the REST
--       API, or a supervisor or admin: any conversation of the site), 4 the site's channel,
--       5.. label ids
-- Returns {'ok', labels (space separated, the site's order is the reader's), changed 0|1} or
-- {'err', code, detail}: not_found, forbidden (not the agent's conversation), closed (missed
-- or abandoned), unknown_label (detail: the id).
local conv_key, labels_key = KEYS[1], KEYS[2]
local conv_id, mode, agent, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local c = redis.call('HMGET', conv_key, 'status', 'agent', 'joined', 'labels', 'erased_at')
if not c[1] or c[5] then return {'err', 'not_found', ''} end
if agent ~= '' and c[2] ~= agent
    and not (c[3] and string.find(c[3], '["' .. agent .. '",', 1, true)) then
  return {'err', 'forbidden', ''}
end
if not is_open(c[1]) and c[1] ~= 'resolved' then return {'err', 'closed', c[1]} end
if mode ~= 'remove' then
  for i = 5, #ARGV do
    if redis.call('HEXISTS', labels_key, ARGV[i]) == 0 then
      return {'err', 'unknown_label', ARGV[i]}
    end
  end
end
local before = c[4] or ''
local have, order = {}, {}
if mode ~= 'set' then
  for id in string.gmatch(before, '%S+') do
    -- a deleted label's id is dropped on the way
    if not have[id] and redis.call('HEXISTS', labels_key, id) == 1 then
      have[id] = true
      order[#order + 1] = id
    end
  end
end
for i = 5, #ARGV do
  local id = ARGV[i]
  if mode == 'remove' then
    have[id] = nil
  elseif not have[id] then
    have[id] = true
    order[#order + 1] = id
  end
end
local kept = {}
for _, id in ipairs(order) do
  if have[id] then kept[#kept + 1] = id end
end
local after = table.concat(kept, ' ')
if after == before then return {'ok', after, 0} end
redis.call('HSET', conv_key, 'labels', after)
redis.call('PUBLISH', channel, pack_labels(conv_id, after))
return {'ok', after, 1}
