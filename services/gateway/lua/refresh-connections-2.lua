-- Keeps this gateway's connection counts alive (every heartbeat interval), and rewrites them when asked.
--
-- KEYS[1] registry: sorted set gateway id -> expiry (ms, Redis clock)
-- KEYS[2] this gateway's count hash
-- ARGV[1] this gateway's id   ARGV[2] ttl (ms)
-- ARGV[3..] optional field, count pairs: when given, the hash is replaced by exactly these counts (the
--           gateway's own truth, after its hash expired or a release failed).
-- Returns 1 when the hash exists afterwards, 0 when it does not (no counts).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
if #ARGV > 2 then
  redis.call('DEL', KEYS[2])
  for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
end
return redis.call('PEXPIRE', KEYS[2], ttl)
