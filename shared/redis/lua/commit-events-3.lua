--[[
  commit-events-3.lua — the one writer of a run's history: commits a batch of events of ONE run (a single
  event is a batch of one), or sweeps the run's overdue gap, atomically and idempotently.

  Mode 'commit', for each event of the batch in the given order (the caller sorts by seq):
    run not registered (no `owner`)  'unregistered': nothing is written
    seq <= headSeq             duplicate: nothing is written; the committed envelope (and the events its first
                               commit released from the buffer, field `d`) is returned for re-publishing, or
                               'conflict' with the committed envelope when that seq holds another event id
    seq already buffered       'duplicate' (nothing returned) when the buffered event has the same id, else
                               'conflict' with the buffered envelope
    seq == headSeq + 1         appended (XADD <seq>-0), then every buffered seq that now follows, in order
    seq >  headSeq + 1         buffered in the reorder buffer; 'full' (nothing written) when it holds
                               reorderBufferMax events already; 'ahead' (nothing written) when seq - headSeq is
                               more than reorderBufferMax + 1 (a full buffer could not reach it)
  Mode 'gap' (the leader's sweep): when the run has buffered events and its head has been blocked since at
    least gapTimeoutMs (meta `gapSince`), commits a `gap` event for each missing seq up to the first buffered
    one (at most `most` per call), then releases the buffer as above. Otherwise 'skipped'. A run whose
    epoch was given under another master replication id than this server's (a Sentinel promotion or a
    restart may have lost committed events of it) first gets a new epoch, so the gap markers never silently
    replace events a client saw: every client resuming with the old epoch is told `recovered: false`.

  Meta fields of this script besides the cursor: `rid` = replication id (INFO replication `master_replid`)
  of the master that gave the run its current epoch; `crossed` = '1' is only read (the previous version of
  this script set it when it saw a write under another id), and cleared with a new epoch.

  Every appended event is published, in the same atomic step and in seq order, to the run's Socket.IO room
  (`agent_event`), so live delivery follows commit order and a commit is never left unpublished:
    classic  PUBLISH, the MessagePack message of @socket.io/redis-emitter: ARGV[7] .. envelope map .. ARGV[8]
    sharded  SPUBLISH, the JSON message of the sharded adapter: ARGV[7] .. envelope JSON .. ARGV[8]; the
             channel carries the run's hash tag ('<key>#/#{run:<runId>}#'), so it lies in the slot of KEYS
             (a Cluster refuses SPUBLISH to another slot inside a script) and stays on the run's master.

  Each appended entry is the envelope JSON with the history `epoch` stamped; the epoch is created (Redis TIME,
  ms) when the run's history is first written, so a history lost with Redis data gets a new epoch. The meta
  hash gets headSeq, updatedAt, status (the terminal status an event carries, else 'running') and gapSince,
  once per call; all three keys expire ttlMs after the last write. History is trimmed to historyMaxLen.

  KEYS[1]  run meta hash          keys.runMeta(runId)
  KEYS[2]  run history stream     keys.runHistory(runId)
  KEYS[3]  run reorder buffer     keys.runPending(runId)   (hash seq -> "<status>\n<n>\n<json body>\n<msgpack entries>")
  ARGV[1]  mode: 'commit' | 'gap'
  ARGV[2]  runId
  ARGV[3]  historyMaxLen
  ARGV[4]  ttlMs
  ARGV[5]  reorderBufferMax
  ARGV[6]  adapter channel of the run's room ('<key>#/#run:<runId>#', sharded '<key>#/#{run:<runId>}#')
  ARGV[7]  Socket.IO adapter message bytes before the envelope (classic: MessagePack; sharded: JSON)
  ARGV[8]  Socket.IO adapter message bytes after the envelope
  ARGV[9]  commit: MessagePack array of events, each [seq, id, status, json body, map entries, entry count]:
             status '' | 'completed' | 'failed' | 'cancelled'; json body = the envelope JSON without `epoch`,
             starting with '{"id":'; map entries = the same envelope as a MessagePack map without its header,
             entry count = its number of entries (< 15)   (codec: src/run-store/event-codec.ts)
           gap: MessagePack [gapTimeoutMs, reason, most gap events per call, id prefix of gap events]
  ARGV[10] Pub/Sub mode: 'sharded' (SPUBLISH, JSON) | anything else, absent included: 'classic'

  Returns  commit: { { headSeq, epoch, hasBuffered (0/1), gapSince (0 = none) }, reply per event... }
             reply: { outcome, appended, envelopeJson... } (for 'conflict', appended is 1 when the seq is
             buffered, 0 when committed)
             outcome 'committed' | 'buffered' | 'duplicate' | 'conflict' | 'full' | 'ahead' | 'unregistered';
             appended = events appended by it (itself and what it released); envelopeJson: for 'duplicate'
             what to re-publish in seq order, for 'conflict' the envelope in place
           gap: { { headSeq, epoch, hasBuffered, gapSince }, { outcome, appended, gapEvents, firstMissing,
             previousEpoch } }  outcome 'committed' | 'skipped'; previousEpoch: the epoch the sweep replaced
             (the run was `crossed`), else 0
]]
local metaKey, histKey, pendKey = KEYS[1], KEYS[2], KEYS[3]
local mode, runId = ARGV[1], ARGV[2]
local maxLen, ttl = ARGV[3], ARGV[4]
local bufferMax = tonumber(ARGV[5])
local channel, msgPrefix, msgSuffix = ARGV[6], ARGV[7], ARGV[8]
local sharded = ARGV[10] == 'sharded'

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function fmt(n)
  return string.format('%d', n)
end

local m = redis.call('HMGET', metaKey, 'headSeq', 'epoch', 'gapSince', 'status', 'owner', 'rid', 'crossed')
local head = tonumber(m[1]) or 0
local epoch = tonumber(m[2])
local gapSince = tonumber(m[3])
local status = m[4]
local registered = m[5] ~= false and m[5] ~= nil
-- The replication id of the server running this script changes when a replica is promoted (and when a
-- master restarts on its AOF). A run whose epoch was given under another id may have lost acknowledged
-- writes with the previous master, so a hole in it is never filled with `gap` markers under that epoch
-- (see mode 'gap'). Only the epoch's lineage matters, and only where an epoch is given or a gap is swept:
-- the id is read there, atomically with the writes (no client-side cache of "which master am I on" can be
-- stale), and not on the commit path, where formatting INFO cost several µs per call. Decision 0005.
local replid = nil
local function replicationId()
  if not replid then replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)') or '' end
  return replid
end
local pendLen = nil -- HLEN of the buffer, read when first needed and kept current
local appendedAny, bufferedAny, cappedGap = false, false, false

local function pendingCount()
  if not pendLen then pendLen = redis.call('HLEN', pendKey) end
  return pendLen
end

-- Appends items { seq, status, body json, map entries, entry count, gap table } in order, publishing each.
local function append(items)
  if not epoch then
    epoch = now
    redis.call('HSET', metaKey, 'epoch', fmt(epoch), 'rid', replicationId())
  end
  local lastSeq = items[#items][1]
  for i, it in ipairs(items) do
    local json = '{"epoch":' .. fmt(epoch) .. ',' .. string.sub(it[3], 2)
    if i == 1 and #items > 1 then
      redis.call('XADD', histKey, 'MAXLEN', maxLen, fmt(it[1]) .. '-0', 'e', json, 'd', fmt(lastSeq))
    else
      redis.call('XADD', histKey, 'MAXLEN', maxLen, fmt(it[1]) .. '-0', 'e', json)
    end
    if it[2] ~= '' then status = it[2] end
    local packed
    if sharded then
      -- The adapter parses a message starting with '{' as JSON: the history entry itself is the envelope.
      redis.call('SPUBLISH', channel, msgPrefix .. json .. msgSuffix)
    elseif it[6] then
      it[6].epoch = epoch
      packed = cmsgpack.pack(it[6])
    else
      -- The stored map plus one entry, epoch, in front.
      packed = string.char(128 + it[5] + 1) .. cmsgpack.pack('epoch') .. cmsgpack.pack(epoch) .. it[4]
    end
    if packed then redis.call('PUBLISH', channel, msgPrefix .. packed .. msgSuffix) end
  end
  head = lastSeq
  appendedAny = true
end

-- Moves every buffered seq that follows `items` (or the head) onto the end of `items`.
local function drain(items)
  local nextSeq = head + 1
  if #items > 0 then nextSeq = items[#items][1] + 1 end
  if pendingCount() == 0 then return end
  while true do
    local v = redis.call('HGET', pendKey, fmt(nextSeq))
    if not v then break end
    redis.call('HDEL', pendKey, fmt(nextSeq))
    pendLen = pendLen - 1
    local a = string.find(v, '\n', 1, true)
    local b = string.find(v, '\n', a + 1, true)
    local c = string.find(v, '\n', b + 1, true) -- the JSON body never holds a raw newline
    items[#items + 1] = {
      nextSeq, string.sub(v, 1, a - 1), string.sub(v, b + 1, c - 1), string.sub(v, c + 1), tonumber(string.sub(v, a + 1, b - 1)),
    }
    nextSeq = nextSeq + 1
  end
end

-- True when the JSON body `json` (stored or buffered) is the envelope with event id `id`.
local function hasId(json, id)
  -- The envelope id is the first "id" member: the epoch is stamped before it, the body starts with it.
  local _, e = string.find(json, '"id":"', 1, true)
  return e ~= nil and string.sub(json, e + 1, e + #id + 1) == id .. '"'
end

local function commitOne(ev)
  local seq, id = ev[1], ev[2]
  if not registered then return { 'unregistered', 0 } end
  if seq <= head then
    local sid = fmt(seq) .. '-0'
    local entries = redis.call('XRANGE', histKey, sid, sid)
    if #entries == 0 then return { 'duplicate', 0 } end -- trimmed or expired: nothing to re-publish
    local fields = entries[1][2]
    local json, drainEnd
    for i = 1, #fields, 2 do
      if fields[i] == 'e' then json = fields[i + 1] elseif fields[i] == 'd' then drainEnd = fields[i + 1] end
    end
    if not hasId(json, id) then return { 'conflict', 0, json } end
    local out = { 'duplicate', 0, json }
    if drainEnd then
      for _, entry in ipairs(redis.call('XRANGE', histKey, fmt(seq + 1) .. '-0', drainEnd .. '-0')) do
        local f = entry[2]
        for i = 1, #f, 2 do
          if f[i] == 'e' then out[#out + 1] = f[i + 1] end
        end
      end
    end
    return out
  end
  if seq > head + 1 then
    local held = redis.call('HGET', pendKey, fmt(seq))
    if held then
      local a = string.find(held, '\n', 1, true)
      local b = string.find(held, '\n', a + 1, true)
      local c = string.find(held, '\n', b + 1, true)
      local json = string.sub(held, b + 1, c - 1)
      if hasId(json, id) then return { 'duplicate', 0 } end
      return { 'conflict', 1, '{"epoch":' .. fmt(epoch or 0) .. ',' .. string.sub(json, 2) }
    end
    if seq - head > bufferMax + 1 then return { 'ahead', 0 } end
    if pendingCount() >= bufferMax then return { 'full', 0 } end
    redis.call('HSET', pendKey, fmt(seq), ev[3] .. '\n' .. fmt(ev[6]) .. '\n' .. ev[4] .. '\n' .. ev[5])
    pendLen = pendLen + 1
    bufferedAny = true
    if not gapSince then gapSince = now end
    return { 'buffered', 0 }
  end
  local items = { { seq, ev[3], ev[4], ev[5], ev[6] } }
  drain(items)
  append(items)
  return { 'committed', #items }
end

local replies = {}
if mode == 'commit' then
  for _, ev in ipairs(cmsgpack.unpack(ARGV[9])) do
    replies[#replies + 1] = commitOne(ev)
  end
elseif mode == 'gap' then
  local g = cmsgpack.unpack(ARGV[9])
  local timeoutMs, reason, most, idPrefix = g[1], g[2], g[3], g[4]
  local reply = { 'skipped', 0, 0, 0, 0 }
  local previousEpoch = 0
  if pendingCount() > 0 and gapSince and now - gapSince >= timeoutMs then
    local first
    for _, k in ipairs(redis.call('HKEYS', pendKey)) do
      local n = tonumber(k)
      if n and n <= head then
        redis.call('HDEL', pendKey, k) -- stale (cannot happen through this script; repaired, not trusted)
        pendLen = pendLen - 1
      elseif n and (not first or n < first) then
        first = n
      end
    end
    if first then
      if epoch and (m[7] == '1' or (m[6] and m[6] ~= replicationId())) then
        -- The missing seqs may have been committed (and seen live) before a master change lost them: they
        -- get their gap markers in a NEW epoch, so every client is told `recovered: false` and replays,
        -- instead of a `gap` silently standing where it saw an event. Strictly above the old epoch even if
        -- this server's clock is behind the previous master's.
        -- Once per crossing: what clients see after their reset comes from this lineage only.
        previousEpoch = epoch
        epoch = math.max(now, epoch + 1)
        redis.call('HSET', metaKey, 'epoch', fmt(epoch), 'rid', replicationId(), 'crossed', '0')
      end
      local last = first - 1
      if last > head + most then
        last = head + most
        cappedGap = true
      end
      local items = {}
      local reasonJson = cjson.encode(reason)
      for s = head + 1, last do
        local gid = idPrefix .. '-' .. fmt(s)
        items[#items + 1] = { s, '', '{"id":"' .. gid .. '","runId":"' .. runId .. '","seq":' .. fmt(s)
          .. ',"type":"gap","ts":' .. fmt(now) .. ',"payload":{"missingSeq":' .. fmt(s) .. ',"reason":' .. reasonJson .. '}}',
          nil, nil,
          { id = gid, runId = runId, seq = s, type = 'gap', ts = now, payload = { missingSeq = s, reason = reason } } }
      end
      local gaps = #items
      drain(items)
      if #items > 0 then
        append(items)
        reply = { 'committed', #items, gaps, head - #items + 1, previousEpoch }
      end
    end
  end
  replies[1] = reply
else
  return redis.error_reply('unknown mode ' .. tostring(mode))
end

if appendedAny then
  if not status or status == 'pending' then status = 'running' end
  redis.call('HSET', metaKey, 'headSeq', fmt(head), 'updatedAt', fmt(now), 'status', status)
end
local hasBuffered = (pendLen or redis.call('HLEN', pendKey)) > 0
if appendedAny or bufferedAny then
  if hasBuffered then
    -- Blocked (again) by the next missing seq: after a commit its wait starts now (unless a capped gap
    -- sweep stopped early: then the old gap is still overdue).
    if appendedAny and not (cappedGap and gapSince) then gapSince = now end
    redis.call('HSET', metaKey, 'gapSince', fmt(gapSince))
  else
    gapSince = nil
    redis.call('HDEL', metaKey, 'gapSince')
  end
  redis.call('PEXPIRE', metaKey, ttl)
  redis.call('PEXPIRE', histKey, ttl)
  redis.call('PEXPIRE', pendKey, ttl)
end
local b = 0
if hasBuffered then b = 1 end
table.insert(replies, 1, { head, epoch or 0, b, gapSince or 0 })
return replies
