--[[
  register-run-2.lua — records a run in the run registry, idempotently.

  Creates the registry record on first call; later calls by the same owner refresh it (a run started as
  'pending' by the gateway becomes 'running' when the agent starts it) and never move a status backwards.
  A call by another owner changes nothing.

  KEYS[1]  run meta hash       (keys.runMeta(runId))
  KEYS[2]  run reorder buffer  (keys.runPending(runId)) — read only, to report the highest buffered seq
  ARGV[1]  runId
  ARGV[2]  owner (user id)
  ARGV[3]  agent name ('' keeps the current one)
  ARGV[4]  status to set when the run is new or still 'pending' ('' = 'pending')
  ARGV[5]  TTL of the record, ms

  Returns  { created (1/0, or -1 when owned by someone else), maxBufferedSeq, HGETALL of the record... }
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[2] then
  return { -1, 0 }
end

local created = 0
if not owner then
  created = 1
  redis.call('HSET', KEYS[1], 'runId', ARGV[1], 'owner', ARGV[2])
  -- The bridge may have committed events before the record existed: keep its fields.
  redis.call('HSETNX', KEYS[1], 'createdAt', now)
  redis.call('HSETNX', KEYS[1], 'headSeq', 0)
  redis.call('HSETNX', KEYS[1], 'cancelRequested', '0')
  redis.call('HSETNX', KEYS[1], 'agent', '')
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'agent', ARGV[3])
end
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'pending' then
  local wanted = ARGV[4]
  if wanted == '' then wanted = 'pending' end
  redis.call('HSET', KEYS[1], 'status', wanted)
end
redis.call('HSET', KEYS[1], 'updatedAt', now)
redis.call('PEXPIRE', KEYS[1], ARGV[5])

local maxBuffered = 0
for _, s in ipairs(redis.call('HKEYS', KEYS[2])) do
  local n = tonumber(s)
  if n and n > maxBuffered then maxBuffered = n end
end

local out = { created, maxBuffered }
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do
  out[#out + 1] = v
end
return out
