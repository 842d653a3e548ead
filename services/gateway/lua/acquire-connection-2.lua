-- Takes one connection slot for a user and a client IP, counted over every live gateway, or refuses.
--
-- Each gateway keeps its own count hash (`u:<userId>` / `ip:<address>` -> open connections) that expires
-- unless the gateway refreshes it, so the connections of a crashed gateway stop counting once its hash
-- expires. The registry lists the gateways that hold a hash; this script reads their hashes, whose names
-- are ARGV[7] .. <gateway id>. They share the `{conns}` hash tag with KEYS, so the script runs on one
-- Redis Cluster slot; they are not declared because which gateways are alive is known only here.
--
-- KEYS[1] registry: sorted set gateway id -> expiry (ms, Redis clock)
-- KEYS[2] this gateway's count hash
-- ARGV[1] this gateway's id
-- ARGV[2] ttl of this gateway's entry and hash (ms)
-- ARGV[3] user field (`u:<userId>`)      ARGV[4] user limit (0 = none)
-- ARGV[5] IP field (`ip:<address>`)      ARGV[6] IP limit (0 = none)
-- ARGV[7] name prefix of the count hashes (`<prefix>:limits:{conns}:gw:`)
-- Returns {1, userCount, ipCount} (counts including this connection) or {0, 'user'|'ip', count}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])

local users, ips = 0, 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local counts = redis.call('HMGET', ARGV[7] .. id, ARGV[3], ARGV[5])
  users = users + (tonumber(counts[1]) or 0)
  ips = ips + (tonumber(counts[2]) or 0)
end

local userLimit, ipLimit = tonumber(ARGV[4]), tonumber(ARGV[6])
if userLimit > 0 and users >= userLimit then return {0, 'user', users} end
if ipLimit > 0 and ips >= ipLimit then return {0, 'ip', ips} end
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('HINCRBY', KEYS[2], ARGV[5], 1)
redis.call('PEXPIRE', KEYS[2], ttl)
return {1, users + 1, ips + 1}
