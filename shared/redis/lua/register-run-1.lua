--[[
  register-run-1.lua — records a run in the run registry, idempotently, with HSETNX only.

  Creates the registry record on first call; a later call by the same owner changes nothing but fields that
  are still missing (an agent name the first registrant did not know); a call by another owner changes
  nothing. Set-once is what the Redis ACL enforces: the gateway and agent users may write a run's meta hash
  with HSETNX alone (infra/redis/users.acl), so no caller can overwrite the owner, the status or the commit
  cursor the bridge keeps in the same hash. The status moves on only through the bridge's commit script
  ('pending' becomes 'running' with the first committed event). No TTL is set here (a user allowed to set one
  could expire a run's record and register it again as its own); the bridge's commits give the record its
  TTL, and the leader gives one to a record that never got an event (RunStore.expireUnattended).

  KEYS[1]  run meta hash       (keys.runMeta(runId))
  ARGV[1]  runId
  ARGV[2]  owner (user id)
  ARGV[3]  agent name ('' = not known)
  ARGV[4]  status of a new run ('' = 'pending')

  Returns  { created (1/0, or -1 when owned by someone else), HGETALL of the record... }
           REGISTERREFUSED <reason> error (nothing written) when an argument is missing or runId / owner empty

  Safe to retry after any failure: the arguments are checked before the first write, and every field is
  written with HSETNX on each call by the owner, so a call that stopped midway (an ACL refusing a later
  command) is completed by the next one instead of leaving a record without status or timestamps.
]]
for i = 1, 4 do
  if type(ARGV[i]) ~= 'string' then return redis.error_reply('REGISTERREFUSED ARGV[' .. i .. '] missing') end
end
if ARGV[1] == '' or ARGV[2] == '' then return redis.error_reply('REGISTERREFUSED runId and owner must not be empty') end

local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[2] then
  return { -1 }
end

local created = 0
if not owner then created = 1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local status = ARGV[4]
if status == '' then status = 'pending' end
-- The owner last: a record with an owner is one a later call completes (HSETNX keeps what is there). The
-- bridge may have committed events before the record existed: its fields are kept.
redis.call('HSETNX', KEYS[1], 'runId', ARGV[1])
redis.call('HSETNX', KEYS[1], 'createdAt', now)
redis.call('HSETNX', KEYS[1], 'updatedAt', now)
redis.call('HSETNX', KEYS[1], 'headSeq', 0)
redis.call('HSETNX', KEYS[1], 'status', status)
redis.call('HSETNX', KEYS[1], 'owner', ARGV[2])
if ARGV[3] ~= '' then
  redis.call('HSETNX', KEYS[1], 'agent', ARGV[3])
end

local out = { created }
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do
  out[#out + 1] = v
end
return out
