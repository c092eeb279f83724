-- Forget the file records of a conversation that retention deleted or erasure tombstoned
-- (their bytes were deleted from the file storage first): the records and the set.
-- KEYS: 1 the conversation's file set, then each file's record
-- ARGV: none
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('DEL', KEYS[1])
return #KEYS - 1
