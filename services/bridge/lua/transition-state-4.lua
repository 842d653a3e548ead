-- transition-state: moves the published integration state from an expected state to a new one, for the
-- current fencing epoch only: current value, capped transition history and change notification in one step.
-- KEYS[1] leader record (hash: id, token, epoch)
-- KEYS[2] last issued epoch
-- KEYS[3] current state (JSON PublishedState)
-- KEYS[4] transition history (list, newest first)
-- ARGV[1] writer's epoch
-- ARGV[2] expected current state ('UNINITIALIZED' also matches a missing key)
-- ARGV[3] new PublishedState JSON
-- ARGV[4] StateTransition JSON (history record and notification)
-- ARGV[5] history cap (entries)
-- ARGV[6] Pub/Sub channel of transitions
-- Returns {1}: done. {0, currentEpoch}: fenced. {-1, actualState}: the state is not the expected one.
local current = redis.call('GET', KEYS[2])
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] or current ~= ARGV[1] then
  return {0, tonumber(current or '-1') or -1}
end
local raw = redis.call('GET', KEYS[3])
local from = 'UNINITIALIZED'
if raw then
  from = cjson.decode(raw)['state']
end
if from ~= ARGV[2] then
  return {-1, from}
end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('LPUSH', KEYS[4], ARGV[4])
redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)
redis.call('PUBLISH', ARGV[6], ARGV[4])
return {1}
