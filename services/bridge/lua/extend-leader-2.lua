-- extend-leader: refreshes the TTL of the leader record after a successful lease extension, only while the
-- record is still ours (token and epoch) and our epoch is still the last one issued.
-- KEYS[1] leader record (hash: id, token, epoch)
-- KEYS[2] last issued epoch
-- ARGV[1] lease token
-- ARGV[2] our epoch
-- ARGV[3] record TTL, ms
-- Returns 1 when extended, 0 when the record is gone or belongs to another epoch (the caller steps down).
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] and redis.call('HGET', KEYS[1], 'epoch') == ARGV[2]
  and redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
