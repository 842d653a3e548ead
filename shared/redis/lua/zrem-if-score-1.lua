--[[
  zrem-if-score-1.lua — removes a member from a sorted set only if its score is still the one the caller
  read (so a concurrent re-add with a newer score is not lost).

  KEYS[1]  sorted set (keys.gappedRuns)
  ARGV[1]  member
  ARGV[2]  expected score
  Returns  1 when removed, 0 otherwise
  One read, then at most one write: there is no state in which a failure could leave it half done.
]]
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
