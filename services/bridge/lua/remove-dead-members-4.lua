-- remove-dead-members: leader housekeeping — deletes membership entries whose expiry has passed and
-- records that have no entry, for the current fencing epoch only.
-- KEYS[1] leader record (hash: id, token, epoch)
-- KEYS[2] last issued epoch
-- KEYS[3] members (sorted set, score = expiry ms)
-- KEYS[4] member records (hash id -> JSON)
-- ARGV[1] writer's epoch
-- ARGV[2] now, ms
-- Returns {1, removedId...}: done. {0, currentEpoch}: fenced.
local current = redis.call('GET', KEYS[2])
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] or current ~= ARGV[1] then
  return {0, tonumber(current or '-1') or -1}
end
local out = {1}
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[2])
for _, id in ipairs(dead) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  out[#out + 1] = id
end
for _, id in ipairs(redis.call('HKEYS', KEYS[4])) do
  if not redis.call('ZSCORE', KEYS[3], id) then
    redis.call('HDEL', KEYS[4], id)
    out[#out + 1] = id
  end
end
return out
