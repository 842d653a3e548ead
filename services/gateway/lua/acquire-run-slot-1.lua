-- Takes one of a user's concurrent-run slots for a new run, or refuses when all are taken.
--
-- KEYS[1] the user's run slots: sorted set run id -> slot expiry (ms, Redis clock)
-- ARGV[1] run id   ARGV[2] limit   ARGV[3] slot ttl (ms): a run unfinished this long stops counting
-- Returns 1 (taken) or 0 (limit reached; finished runs may still hold slots until the caller prunes them).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
