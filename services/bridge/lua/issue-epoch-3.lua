-- issue-epoch: gives a replica that has just acquired the leader lease a new, strictly increasing fencing
-- epoch, and writes the leader record — atomically, so no other replica can slip in between (a bare INCR
-- after acquiring would be a race).
-- KEYS[1] leader record (hash: id, token, epoch), expiring with the lease
-- KEYS[2] last issued epoch (integer, never decreases)
-- KEYS[3] Redlock lease key (read only when ARGV[4] == '1', i.e. the lease lives in this Redis)
-- ARGV[1] replica id
-- ARGV[2] lease token (the Redlock lock value)
-- ARGV[3] record TTL, ms (the lease TTL)
-- ARGV[4] '1' when the lease key lives in this Redis and must still hold ARGV[2]
-- Returns {1, epoch}: issued.
--         {0, holderEpoch, holderId, pttl}: another replica's record is still alive (not issued).
--         {-1, 'lease-lost'}: the lease key does not hold our token (not issued).
if ARGV[4] == '1' and redis.call('GET', KEYS[3]) ~= ARGV[2] then
  return {-1, 'lease-lost'}
end
local token = redis.call('HGET', KEYS[1], 'token')
if token and token ~= ARGV[2] then
  return {0, tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0') or 0,
    redis.call('HGET', KEYS[1], 'id') or '', redis.call('PTTL', KEYS[1])}
end
local epoch = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'token', ARGV[2], 'epoch', epoch)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, epoch}
