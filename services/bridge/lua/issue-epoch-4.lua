-- issue-epoch: gives a replica that has just acquired the leader lease a new, strictly increasing fencing
-- epoch, and writes the leader record — atomically, so no other replica can slip in between (a bare INCR
-- after acquiring would be a race).
-- Epochs never go back, also when the data Redis lost writes: a Sentinel-promoted replica (or a master
-- restarted on its AOF after a machine crash) may hold an older counter than the epochs the previous
-- master issued. KEYS[4] remembers the replication id of the server that issued the last epoch; when this
-- server's differs, the counter jumps to the Redis time in ms (decision 0005): every epoch the previous
-- master issued was at most its own clock in ms (each issue takes far more than 1 ms), so on hosts with
-- clocks in step the jump lands above all of them.
-- KEYS[1] leader record (hash: id, token, epoch), expiring with the lease
-- KEYS[2] last issued epoch (integer, never decreases)
-- KEYS[3] Redlock lease key (read only when ARGV[4] == '1', i.e. the lease lives in this Redis)
-- KEYS[4] replication id (INFO replication master_replid) of the server that issued the last epoch
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
local info = redis.call('INFO', 'replication')
local replid = string.match(info, 'master_replid:(%w+)') or ''
-- A promoted replica keeps its old master's id as master_replid2; a fresh or restarted master has zeros.
local promoted = string.match(info, 'master_replid2:(%w+)') ~= string.rep('0', 40)
local last = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local lineage = redis.call('GET', KEYS[4])
local epoch
if lineage ~= replid and (last > 0 or promoted) then
  local t = redis.call('TIME')
  local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  epoch = math.max(last, nowMs) + 1
  redis.call('SET', KEYS[2], string.format('%d', epoch))
else
  epoch = redis.call('INCR', KEYS[2])
end
if lineage ~= replid then redis.call('SET', KEYS[4], replid) end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'token', ARGV[2], 'epoch', string.format('%d', epoch))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, epoch}
