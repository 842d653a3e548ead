-- Gives back the connection slot of a closed connection (the counterpart of acquire-connection-2.lua).
--
-- KEYS[1] this gateway's count hash
-- ARGV[1] user field (`u:<userId>`)   ARGV[2] IP field (`ip:<address>`)
-- Returns the number of fields left in the hash.
for i = 1, 2 do
  if redis.call('HINCRBY', KEYS[1], ARGV[i], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return redis.call('HLEN', KEYS[1])
