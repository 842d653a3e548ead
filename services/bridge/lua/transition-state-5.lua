-- transition-state: moves the published integration state from an expected state to a new one — current
-- value, capped transition history and change notification in one step — under one of three guards:
--   'epoch'      a leader, for its own fencing epoch only (its record and the last issued epoch hold it);
--   'no-leader'  anyone, only while NO leader record exists (FAILED when nobody could lead for too long);
--   'no-members' anyone, only while no leader record exists and no bridge replica is alive (UNINITIALIZED
--                when the last replica stops).
-- The leaderless guards are the fencing rule turned around: a new leader writes its record before it reads
-- or writes the state, so they can never overwrite a live leader's state. One script for every writer, so
-- value, history and notification always change together.
-- KEYS[1] leader record (hash: id, token, epoch)
-- KEYS[2] last issued epoch
-- KEYS[3] live bridge replicas (sorted set, score = expiry ms)
-- KEYS[4] current state (JSON PublishedState)
-- KEYS[5] transition history (list, newest first)
-- ARGV[1] guard: 'epoch', 'no-leader' or 'no-members'
-- ARGV[2] 'epoch': the writer's epoch; the others: now, ms (member expiry scores are compared with it)
-- ARGV[3] expected current state ('UNINITIALIZED' also matches a missing key)
-- ARGV[4] new PublishedState JSON
-- ARGV[5] StateTransition JSON (history record and notification)
-- ARGV[6] history cap (entries)
-- ARGV[7] Pub/Sub channel of transitions
-- Returns {1}: done. {0, epoch}: 'epoch' fenced (the last issued epoch), or a leader exists (its epoch).
-- {-1, actualState}: the state is not the expected one. {-2, liveReplicas}: replicas are still alive.
local guard = ARGV[1]
if guard == 'epoch' then
  local current = redis.call('GET', KEYS[2])
  if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[2] or current ~= ARGV[2] then
    return {0, tonumber(current or '-1') or -1}
  end
elseif guard == 'no-leader' or guard == 'no-members' then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    return {0, tonumber(redis.call('HGET', KEYS[1], 'epoch') or '-1') or -1}
  end
  if guard == 'no-members' then
    local alive = redis.call('ZCOUNT', KEYS[3], '(' .. ARGV[2], '+inf')
    if alive > 0 then
      return {-2, alive}
    end
  end
else
  return redis.error_reply('unknown guard ' .. tostring(guard))
end
local raw = redis.call('GET', KEYS[4])
local from = 'UNINITIALIZED'
if raw then
  from = cjson.decode(raw)['state']
end
if from ~= ARGV[3] then
  return {-1, from}
end
redis.call('SET', KEYS[4], ARGV[4])
redis.call('LPUSH', KEYS[5], ARGV[5])
redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[6]) - 1)
redis.call('PUBLISH', ARGV[7], ARGV[5])
return {1}
