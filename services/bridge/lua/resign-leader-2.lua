-- resign-leader: deletes the leader record when it is still ours (check-and-delete), so a standby can take a
-- new epoch at once; then announces the release on the leader channel.
-- KEYS[1] leader record (hash: id, token, epoch)
-- KEYS[2] last issued epoch (unused, keeps the key set of the leader scripts; same hash tag)
-- ARGV[1] lease token
-- ARGV[2] leader channel (Pub/Sub)
-- ARGV[3] announcement (JSON)
-- Returns 1 when the record was ours and is deleted, 0 otherwise (the announcement is sent either way).
local deleted = 0
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  deleted = 1
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return deleted
