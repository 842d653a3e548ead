-- leaderless-transition: a transition of the published integration state written while NO leader exists,
-- by any replica: FAILED when nobody has led for too long (lock quorum lost), UNINITIALIZED when the last
-- bridge replica stops. It is the fencing rule turned around: a leader writes only while its record holds
-- its epoch; this writes only while no leader record exists at all, so it can never overwrite a live
-- leader's state (a new leader writes its record before it reads or writes the state).
-- KEYS[1] leader record (hash: id, token, epoch)
-- KEYS[2] current state (JSON PublishedState)
-- KEYS[3] transition history (list, newest first)
-- KEYS[4] live bridge replicas (sorted set, score = expiry ms)
-- ARGV[1] condition: 'no-leader' (no leader record) or 'no-members' (no leader record and no live replica)
-- ARGV[2] now, ms (member expiry scores are compared with it)
-- ARGV[3] expected current state ('UNINITIALIZED' also matches a missing key)
-- ARGV[4] new PublishedState JSON
-- ARGV[5] StateTransition JSON (history record and notification)
-- ARGV[6] history cap (entries)
-- ARGV[7] Pub/Sub channel of transitions
-- Returns {1}: done. {0, leaderEpoch}: a leader exists. {-1, actualState}: the state is not the expected
-- one. {-2, liveReplicas}: replicas are still alive ('no-members' only).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, tonumber(redis.call('HGET', KEYS[1], 'epoch') or '-1') or -1}
end
if ARGV[1] == 'no-members' then
  local alive = redis.call('ZCOUNT', KEYS[4], '(' .. ARGV[2], '+inf')
  if alive > 0 then
    return {-2, alive}
  end
end
local raw = redis.call('GET', KEYS[2])
local from = 'UNINITIALIZED'
if raw then
  from = cjson.decode(raw)['state']
end
if from ~= ARGV[3] then
  return {-1, from}
end
redis.call('SET', KEYS[2], ARGV[4])
redis.call('LPUSH', KEYS[3], ARGV[5])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[6]) - 1)
redis.call('PUBLISH', ARGV[7], ARGV[5])
return {1}
