--[[
  commit-event-3.lua — commits events of ONE run into its ordered history, atomically and idempotently.

  Mode 'event' (a job from the events queue, seq = ARGV[2]):
    seq <= headSeq            duplicate: nothing is written; the committed envelope (and the events its
                              first commit released from the buffer, field `d`) is returned for re-publishing,
                              or 'conflict' when that seq was committed with another event id
    seq already buffered      duplicate: nothing is written or returned
    seq == headSeq + 1        appended (XADD <seq>-0), then every buffered seq that now follows is released
                              in order
    seq >  headSeq + 1        buffered in the reorder buffer; 'full' (nothing written) when it holds
                              reorderBufferMax events already
  Mode 'batch' (a batch job: several events of this run, normally consecutive seqs): each event exactly as in
    mode 'event', in the given order, within this one atomic script; one reply per event (see Returns).
  Mode 'gap' (the leader's sweep): when the run has buffered events and its head has been blocked since at
    least gapTimeoutMs (meta `gapSince`), commits a `gap` event for each missing seq up to the first buffered
    one (at most ARGV[12] per call), then releases the buffer as above. Otherwise 'skipped'.

  Every appended event is PUBLISHed, in the same atomic step and in seq order, to the run's Socket.IO room
  (`agent_event`, the MessagePack message of @socket.io/redis-emitter: ARGV[16] .. envelope .. ARGV[17]), so
  live delivery follows commit order and a commit is never left unpublished.

  Each appended entry is the envelope JSON with the history `epoch` stamped; the epoch is created (Redis TIME,
  ms) when the run's history is first written, so a history lost with Redis data gets a new epoch. The meta
  hash gets headSeq, updatedAt, status ('running', or the terminal status an event carries) and gapSince; all
  three keys expire ttlMs after the last write. History is trimmed to historyMaxLen entries.

  KEYS[1]  run meta hash          keys.runMeta(runId)
  KEYS[2]  run history stream     keys.runHistory(runId)
  KEYS[3]  run reorder buffer     keys.runPending(runId)   (hash seq -> "<status>\n<n>\n<json body>\n<msgpack entries>")
  ARGV[1]  mode: 'event' | 'batch' | 'gap'
  ARGV[2]  seq (event); number of events n (batch)
  ARGV[3]  event id                               (event)
  ARGV[4]  body: envelope JSON without `epoch`, starting with '{"id":'   (event)
  ARGV[5]  status the event sets: '' | 'completed' | 'failed' | 'cancelled'   (event)
  ARGV[6]  historyMaxLen
  ARGV[7]  ttlMs
  ARGV[8]  reorderBufferMax
  ARGV[9]  runId
  ARGV[10] gapTimeoutMs                           (gap)
  ARGV[11] gap reason as a JSON string literal    (gap)
  ARGV[12] most gap events per call               (gap)
  ARGV[13] id prefix of gap events ('<prefix>-<seq>')   (gap)
  ARGV[14] body as MessagePack map entries without the map header, i.e. the body map minus its first byte (event)
  ARGV[15] number of entries of that map (< 15)   (event)
  ARGV[16] Socket.IO adapter message bytes before the envelope (redis-emitter format, MessagePack)
  ARGV[17] Socket.IO adapter message bytes after the envelope
  ARGV[18] adapter channel of the run's room ('<key>#/#run:<runId>#')
  ARGV[19] gap reason, plain text   (gap)
  ARGV[20..19+6n]  (batch) per event i, at 19 + (i-1)*6 + 1..6: seq, event id, body, status, MessagePack
           entries, entry count (the values of ARGV[2], 3, 4, 5, 14, 15 of mode 'event'); ARGV[3..5], 14, 15 unused

  Returns  { outcome, headSeq, epoch, hasBuffered (0/1), gapSince (0 = none), envelopeJson... }
           outcome: 'committed' | 'buffered' | 'duplicate' | 'conflict' | 'full' | 'skipped'
           envelopeJson: what to publish, in seq order (for 'conflict': the envelope already committed)
           mode 'batch': an array of such replies, one per event in ARGV order
]]
local metaKey, histKey, pendKey = KEYS[1], KEYS[2], KEYS[3]
local mode = ARGV[1]
local maxLen = ARGV[6]
local ttl = ARGV[7]
local bufferMax = tonumber(ARGV[8])
local runId = ARGV[9]

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function fmt(n)
  return string.format('%d', n)
end

-- One commit (mode 'event' or 'gap'); A is laid out like ARGV. Reads the run's meta afresh, so several
-- calls in one script see each other's writes.
local function commit(A)
  local m = redis.call('HMGET', metaKey, 'headSeq', 'epoch', 'gapSince', 'status')
  local head = tonumber(m[1]) or 0
  local epoch = tonumber(m[2])
  local gapSince = tonumber(m[3])
  local status = m[4]

  local function result(outcome, extra)
    local buffered = 0
    if redis.call('HLEN', pendKey) > 0 then buffered = 1 end
    local r = { outcome, head, epoch or 0, buffered, gapSince or 0 }
    if extra then
      for _, v in ipairs(extra) do r[#r + 1] = v end
    end
    return r
  end

  local function touch()
    redis.call('PEXPIRE', metaKey, ttl)
    redis.call('PEXPIRE', histKey, ttl)
    redis.call('PEXPIRE', pendKey, ttl)
  end

  -- items to append, in seq order: { seq, status, body }
  local items = {}
  local cappedGap = false

  local mode = A[1]
  if mode == 'event' then
    local seq = tonumber(A[2])
    if seq <= head then
      local id = fmt(seq) .. '-0'
      local entries = redis.call('XRANGE', histKey, id, id)
      if #entries == 0 then return result('duplicate') end -- trimmed or expired: nothing to re-publish
      local fields = entries[1][2]
      local json, drainEnd
      for i = 1, #fields, 2 do
        if fields[i] == 'e' then json = fields[i + 1] elseif fields[i] == 'd' then drainEnd = fields[i + 1] end
      end
      -- The envelope id is the first "id" member: the epoch is stamped before it, the body starts with it.
      local _, e = string.find(json, '"id":"', 1, true)
      local want = A[3]
      if not e or string.sub(json, e + 1, e + #want + 1) ~= want .. '"' then
        return result('conflict', { json })
      end
      local out = { json }
      if drainEnd then
        for _, entry in ipairs(redis.call('XRANGE', histKey, fmt(seq + 1) .. '-0', drainEnd .. '-0')) do
          local f = entry[2]
          for i = 1, #f, 2 do
            if f[i] == 'e' then out[#out + 1] = f[i + 1] end
          end
        end
      end
      return result('duplicate', out)
    end
    if redis.call('HEXISTS', pendKey, fmt(seq)) == 1 then return result('duplicate') end
    if seq > head + 1 then
      if redis.call('HLEN', pendKey) >= bufferMax then return result('full') end
      redis.call('HSET', pendKey, fmt(seq), A[5] .. '\n' .. A[15] .. '\n' .. A[4] .. '\n' .. A[14])
      if not gapSince then
        gapSince = now
        redis.call('HSET', metaKey, 'gapSince', fmt(now))
      end
      touch()
      return result('buffered')
    end
    items[1] = { seq, A[5], A[4], A[14], tonumber(A[15]) }
  elseif mode == 'gap' then
    if redis.call('HLEN', pendKey) == 0 then return result('skipped') end
    if not gapSince or now - gapSince < tonumber(A[10]) then return result('skipped') end
    local first
    for _, k in ipairs(redis.call('HKEYS', pendKey)) do
      local n = tonumber(k)
      if n and n <= head then
        redis.call('HDEL', pendKey, k) -- stale (cannot happen through this script; repaired, not trusted)
      elseif n and (not first or n < first) then
        first = n
      end
    end
    if not first then return result('skipped') end
    local last = first - 1
    if last > head + tonumber(A[12]) then
      last = head + tonumber(A[12])
      cappedGap = true
    end
    for s = head + 1, last do
      local id = A[13] .. '-' .. fmt(s)
      items[#items + 1] = { s, '', '{"id":"' .. id .. '","runId":"' .. runId .. '","seq":' .. fmt(s)
        .. ',"type":"gap","ts":' .. fmt(now) .. ',"payload":{"missingSeq":' .. fmt(s) .. ',"reason":' .. A[11] .. '}}',
        nil, nil,
        { id = id, runId = runId, seq = s, type = 'gap', ts = now, payload = { missingSeq = s, reason = A[19] } } }
    end
  else
    return redis.error_reply('unknown mode ' .. tostring(mode))
  end

  -- Release every buffered seq that now follows.
  local nextSeq = head + 1
  if #items > 0 then nextSeq = items[#items][1] + 1 end
  while true do
    local v = redis.call('HGET', pendKey, fmt(nextSeq))
    if not v then break end
    redis.call('HDEL', pendKey, fmt(nextSeq))
    local a = string.find(v, '\n', 1, true)
    local b = string.find(v, '\n', a + 1, true)
    local c = string.find(v, '\n', b + 1, true) -- the JSON body never holds a raw newline
    items[#items + 1] = {
      nextSeq, string.sub(v, 1, a - 1), string.sub(v, b + 1, c - 1), string.sub(v, c + 1), tonumber(string.sub(v, a + 1, b - 1)),
    }
    nextSeq = nextSeq + 1
  end
  if #items == 0 then return result('skipped') end

  if not epoch then
    epoch = now
    redis.call('HSET', metaKey, 'epoch', fmt(epoch))
  end
  local out = {}
  local lastSeq = items[#items][1]
  for i, it in ipairs(items) do
    local json = '{"epoch":' .. fmt(epoch) .. ',' .. string.sub(it[3], 2)
    if i == 1 and #items > 1 then
      redis.call('XADD', histKey, 'MAXLEN', maxLen, fmt(it[1]) .. '-0', 'e', json, 'd', fmt(lastSeq))
    else
      redis.call('XADD', histKey, 'MAXLEN', maxLen, fmt(it[1]) .. '-0', 'e', json)
    end
    if it[2] ~= '' then status = it[2] end
    out[#out + 1] = json
    local packed
    if it[6] then
      it[6].epoch = epoch
      packed = cmsgpack.pack(it[6])
    else
      -- The stored map plus one entry, epoch, in front.
      packed = string.char(128 + it[5] + 1) .. cmsgpack.pack('epoch') .. cmsgpack.pack(epoch) .. it[4]
    end
    redis.call('PUBLISH', A[18], A[16] .. packed .. A[17])
  end
  head = lastSeq
  if not status or status == 'pending' then status = 'running' end
  redis.call('HSET', metaKey, 'runId', runId, 'headSeq', fmt(head), 'updatedAt', fmt(now), 'status', status)

  if redis.call('HLEN', pendKey) > 0 then
    -- The head is blocked again, by the next missing seq: its wait starts now (unless a capped gap
    -- sweep stopped early, then the old gap is still overdue).
    if not (cappedGap and gapSince) then gapSince = now end
    redis.call('HSET', metaKey, 'gapSince', fmt(gapSince))
  else
    gapSince = nil
    redis.call('HDEL', metaKey, 'gapSince')
  end
  touch()
  return result('committed', out)
end

if mode == 'batch' then
  -- Several events of this run, in the given order, each exactly as in mode 'event'; one reply each.
  local n = tonumber(ARGV[2])
  local replies = {}
  for i = 1, n do
    local A = {}
    for k = 1, 19 do A[k] = ARGV[k] end
    local o = 19 + (i - 1) * 6
    A[1] = 'event'
    A[2], A[3], A[4], A[5], A[14], A[15] = ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5], ARGV[o + 6]
    replies[i] = commit(A)
  end
  return replies
end
return commit(ARGV)
