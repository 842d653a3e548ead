-- fenced-write: a leader-only write (SET or capped LPUSH) that succeeds only for the current fencing epoch.
-- KEYS[1] leader record (hash: id, token, epoch)
-- KEYS[2] last issued epoch
-- KEYS[3] target key
-- ARGV[1] writer's epoch
-- ARGV[2] mode: 'set' (SET target value) or 'lpush' (LPUSH + LTRIM to ARGV[4] entries)
-- ARGV[3] value
-- ARGV[4] cap of the list (lpush only)
-- ARGV[5] Pub/Sub channel to PUBLISH ARGV[3] on after the write ('' for none)
-- Returns {1}: written. {0, currentEpoch}: fenced (-1 when no epoch or no live leader record).
local current = redis.call('GET', KEYS[2])
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] or current ~= ARGV[1] then
  return {0, tonumber(current or '-1') or -1}
end
if ARGV[2] == 'set' then
  redis.call('SET', KEYS[3], ARGV[3])
else
  redis.call('LPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
end
if ARGV[5] ~= '' then
  redis.call('PUBLISH', ARGV[5], ARGV[3])
end
return {1}
