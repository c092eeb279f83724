-- Search: one page of a query's conversations, newest first (by created_at), in one step:
-- the words' postings intersected (the last word as any of its prefix expansions), walked
-- from a position, each candidate checked against the viewer's permission and the filters.
-- Bounded: at most ARGV[7] candidates are looked at per call; a page that ran out of them
-- returns fewer items with a position to go on from.
-- KEYS: 1 the conversation index (a query without words walks it), 2 the viewer's
--       participant postings (the chats they wrote in), 3 the agent filter's participant
--       postings, 4.. the words' postings, then the prefix expansions' postings
-- ARGV: 1 number of words, 2 number of prefix expansions, 3 top score (created_at, ms,
--       inclusive), 4 top id ('' none: entries of the top score with an id >= it were
--       returned before), 5 lowest score (ms), 6 limit, 7 most candidates to look at,
--       8 viewer id ('' the whole site: supervisors, admins, API keys), 9 the viewer's
--       departments (',' separated; '' every department), 10 agent filter ('' any),
--       11 status filter ('' any, 'open' any open state), 12 rating filter ('' any),
--       13 label filter ('' any; a label id the conversation's 'labels' field holds),
--       14 the conversation hashes' key prefix (keys.conversation(site, '')): candidates are
--       named by the postings, so their hashes (same site, same slot) are read by name
-- Returns {next score, next id, id, id, ...} (next '' '' at the end).
local index_key, viewer_key, agent_key = KEYS[1], KEYS[2], KEYS[3]
local nwords, nprefix = tonumber(ARGV[1]), tonumber(ARGV[2])
local top, top_id, low = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local limit, scan = tonumber(ARGV[6]), tonumber(ARGV[7])
local viewer, depts, f_agent, f_status = ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local f_rating, f_label = ARGV[12], ARGV[13]

-- The candidates, newest first, without building the intersection: the smallest word's
-- postings are walked and each entry is looked up in the other words' (ZSCORE), so a page
-- costs what it reads, not the size of common words' postings. A query of only a prefix
-- merges its expansions' postings (ties by id, descending, as ZREVRANGEBYSCORE orders them).
-- Entries read from the postings, at most: a rare intersection of common words stops there
-- and returns its position (the last entry read) to go on from.
local walk_limit, walked, cut, last_score, last_id = scan * 4, 0, false, nil, nil
local function reader(key)
  local buf, at, offset, done = {}, 1, 0, false
  local r = {}
  function r.peek()
    if at > #buf then
      if done then return nil end
      buf = redis.call('ZREVRANGEBYSCORE', key, top, low, 'WITHSCORES', 'LIMIT', offset, 128)
      offset, at = offset + #buf / 2, 1
      if #buf < 256 then done = true end
      if #buf == 0 then return nil end
    end
    return buf[at], tonumber(buf[at + 1])
  end
  function r.pop()
    walked, last_id, last_score = walked + 1, buf[at], tonumber(buf[at + 1])
    at = at + 2
    if walked >= walk_limit then cut = true end
  end
  return r
end

local words, expansions = {}, {}
for i = 4, 3 + nwords do words[#words + 1] = KEYS[i] end
for i = 4 + nwords, 3 + nwords + nprefix do expansions[#expansions + 1] = KEYS[i] end
local next_candidate
if nwords > 0 then
  local smallest, size = 1, nil
  for i, key in ipairs(words) do
    local n = redis.call('ZCARD', key)
    if size == nil or n < size then smallest, size = i, n end
  end
  local driver = reader(words[smallest])
  table.remove(words, smallest)
  next_candidate = function()
    while not cut do
      local id, score = driver.peek()
      if not id then return nil end
      driver.pop()
      local ok = true
      for _, key in ipairs(words) do
        if not redis.call('ZSCORE', key, id) then ok = false break end
      end
      if ok and #expansions > 0 then
        ok = false
        for _, key in ipairs(expansions) do
          if redis.call('ZSCORE', key, id) then ok = true break end
        end
      end
      if ok then return id, score end
    end
    return nil
  end
else
  local readers = {}
  for _, key in ipairs(#expansions > 0 and expansions or {index_key}) do
    readers[#readers + 1] = reader(key)
  end
  local last = nil
  next_candidate = function()
    while not cut do
      local best, best_id, best_score = nil, nil, nil
      for i, r in ipairs(readers) do
        local id, score = r.peek()
        if id and (best == nil or score > best_score or (score == best_score and id > best_id)) then
          best, best_id, best_score = i, id, score
        end
      end
      if not best then return nil end
      readers[best].pop()
      if best_id ~= last then  -- one conversation under several expansions
        last = best_id
        return best_id, best_score
      end
    end
    return nil
  end
end

local dept_ok = {}
for d in string.gmatch(depts, '[^,]+') do dept_ok[d] = true end
local function allowed(conv_id, c)
  if viewer == '' then return true end
  if c[2] == viewer then return true end
  if c[4] and string.find(c[4], '["' .. viewer .. '",', 1, true) then return true end
  if depts == '' or (c[3] or '') == '' or dept_ok[c[3]] then return true end
  return redis.call('ZSCORE', viewer_key, conv_id) ~= false
end
local function wanted(conv_id, c)
  if f_status == 'open' then
    if not is_open(c[1]) then return false end
  elseif f_status ~= '' and c[1] ~= f_status then return false end
  if f_rating ~= '' and tonumber(c[5] or '') ~= tonumber(f_rating) then return false end
  if f_agent ~= '' and c[2] ~= f_agent and redis.call('ZSCORE', agent_key, conv_id) == false then
    return false
  end
  if f_label ~= '' and not string.find(' ' .. (c[6] or '') .. ' ', ' ' .. f_label .. ' ', 1, true) then
    return false
  end
  return true
end

local found, looked = {}, 0
local next_score, next_id = '', ''
while looked < scan do
  local conv_id, score = next_candidate()
  if not conv_id then
    if cut and last_id then next_score, next_id = string.format('%d', last_score), last_id end
    break
  end
  if not (top_id ~= '' and score == top and conv_id >= top_id) then
    looked = looked + 1
    local c = redis.call('HMGET', ARGV[14] .. conv_id, 'status', 'agent', 'department',
      'joined', 'rating', 'labels')
    if c[1] and allowed(conv_id, c) and wanted(conv_id, c) then
      found[#found + 1] = conv_id
    end
    if #found >= limit or looked >= scan then
      next_score, next_id = string.format('%d', score), conv_id
      break
    end
  end
end
local out = {next_score, next_id}
for _, id in ipairs(found) do out[#out + 1] = id end
return out
