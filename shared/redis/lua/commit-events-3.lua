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

  All or nothing. Redis does not undo a script's writes when it fails midway, so the script is built in two
  phases: it first decodes and checks every argument, reads what it needs and decides everything (the
  entries, messages and buffer changes it will write are built in Lua tables); only then does it write. A
  check that fails is a COMMITREFUSED error with nothing written. The writes that follow cannot fail for a
  reason a retry would see differently:
    - command errors are ruled out before: the three keys have the right types (each is read first), every XADD id is above the stream's last entry, MAXLEN / TTL are integers, a sharded
      channel carries the run's hash tag (a Cluster refuses SPUBLISH outside the script's slot), buffered
      entries parse;
    - the server's own refusals (OOM, READONLY replica, MISCONF, NOREPLICAS) hit only a script's FIRST
      write: Redis lets a script that has written go on (script.c, "we can't fail it on unpredictable
      error state"), and the cluster state cannot change while a script runs.
  What is left is an ACL that lets this user write the keys but not publish on the channel (or write one
  key but not another): a configuration error no script can test for. Its partial result is repaired by the
  next call for the run: history entries above the meta head (written, head not moved) are adopted — the
  head moves to the last one, its terminal status (field `s`) is taken, the buffered seqs they cover are
  dropped and what follows them is released. The buffer is only changed after every XADD, so a failure
  never loses a buffered event. The adopted entries may not have been published: the retried event finds
  itself a duplicate and the router re-publishes it; clients fill any hole from history.

  Meta fields of this script besides the cursor: `rid` = replication id (INFO replication `master_replid`)
  of the master that gave the run its current epoch; `crossed` = '1' is only read (the previous version of
  this script set it when it saw a write under another id), and cleared with a new epoch.

  Every appended event is published, in the same atomic step and in seq order, to the run's Socket.IO room
  (`agent_event`), so live delivery follows commit order and a commit is never left unpublished:
    classic  PUBLISH, the MessagePack message of @socket.io/redis-emitter: ARGV[7] .. envelope map .. ARGV[8]
    sharded  SPUBLISH, the JSON message of the sharded adapter: ARGV[7] .. envelope JSON .. ARGV[8]; the
             channel must carry the run's hash tag ('<key>#/#{run:<runId>}#', checked), so it lies in the slot
             of KEYS and stays on the run's master.

  Each appended entry is the envelope JSON with the history `epoch` stamped (field `e`; `d` = last seq of
  the chain the entry's commit released, `s` = terminal run status it sets); the epoch is created (Redis
  TIME, ms) when the run's history is first written, so a history lost with Redis data gets a new epoch. The
  meta hash gets headSeq, updatedAt, status (the terminal status an event carries, else 'running') and
  gapSince, once per call; all three keys expire ttlMs after the last write. History is trimmed to
  historyMaxLen.

  KEYS[1]  run meta hash          keys.runMeta(runId)
  KEYS[2]  run history stream     keys.runHistory(runId)
  KEYS[3]  run reorder buffer     keys.runPending(runId)   (hash seq -> "<status>\n<n>\n<json body>\n<msgpack entries>")
  ARGV[1]  mode: 'commit' | 'gap'
  ARGV[2]  runId
  ARGV[3]  historyMaxLen (integer >= 1)
  ARGV[4]  ttlMs (integer >= 1)
  ARGV[5]  reorderBufferMax (integer >= 0)
  ARGV[6]  adapter channel of the run's room ('<key>#/#run:<runId>#', sharded '<key>#/#{run:<runId>}#')
  ARGV[7]  Socket.IO adapter message bytes before the envelope (classic: MessagePack; sharded: JSON)
  ARGV[8]  Socket.IO adapter message bytes after the envelope
  ARGV[9]  commit: MessagePack array of events, each [seq, id, status, json body, map entries, entry count]:
             status '' | 'completed' | 'failed' | 'cancelled'; json body = the envelope JSON without `epoch`,
             starting with '{"id":'; map entries = the same envelope as a MessagePack map without its header,
             entry count = its number of entries (< 15)   (codec: src/run-store/event-codec.ts)
           gap: MessagePack [gapTimeoutMs, reason, most gap events per call, id prefix of gap events]
  ARGV[10] Pub/Sub mode: 'sharded' (SPUBLISH, JSON) | anything else, absent included: 'classic'

  Returns  commit: { { headSeq, epoch, hasBuffered (0/1), gapSince (0 = none), adopted }, reply per event... }
             reply: { outcome, appended, envelopeJson... } (for 'conflict', appended is 1 when the seq is
             buffered, 0 when committed)
             outcome 'committed' | 'buffered' | 'duplicate' | 'conflict' | 'full' | 'ahead' | 'unregistered';
             appended = events appended by it (itself and what it released); envelopeJson: for 'duplicate'
             what to re-publish in seq order, for 'conflict' the envelope in place
           gap: { { headSeq, epoch, hasBuffered, gapSince, adopted }, { outcome, appended, gapEvents,
             firstMissing, previousEpoch } }  outcome 'committed' | 'skipped'; previousEpoch: the epoch the
             sweep replaced (the run was `crossed`), else 0
           adopted: history entries found above the head and adopted (a repaired partial write), else 0
           COMMITREFUSED <reason> error: an argument or a key of the run is unusable; nothing was written
]]
local metaKey, histKey, pendKey = KEYS[1], KEYS[2], KEYS[3]
local mode, runId = ARGV[1], ARGV[2]
local channel, msgPrefix, msgSuffix = ARGV[6], ARGV[7], ARGV[8]
local sharded = ARGV[10] == 'sharded'

-- ---------------------------------------------------------------- phase 1: arguments (no reads, no writes)

local function refuse(reason)
  error({ err = 'COMMITREFUSED ' .. reason })
end

local function fmt(n)
  return string.format('%d', n)
end

local MAX_INT = 9007199254740991 -- 2^53 - 1: above it a Lua number (a double) is no longer an exact integer

local function isInt(v, min)
  return type(v) == 'number' and v == math.floor(v) and v >= min and v <= MAX_INT
end

local function intArg(i, name, min)
  local s = ARGV[i]
  local n = tonumber(s)
  if type(s) ~= 'string' or not string.match(s, '^%d+$') or not isInt(n, min) then
    refuse(name .. ' must be an integer >= ' .. min .. ', got ' .. tostring(s))
  end
  return n
end

-- Redis's hash tag of a key or shard channel: the text between the first '{' and the next '}', if not empty.
local function hashTag(s)
  local a = string.find(s, '{', 1, true)
  if not a then return nil end
  local b = string.find(s, '}', a + 1, true)
  if not b or b == a + 1 then return nil end
  return string.sub(s, a + 1, b - 1)
end

if mode ~= 'commit' and mode ~= 'gap' then refuse('unknown mode ' .. tostring(mode)) end
if type(runId) ~= 'string' or runId == '' then refuse('runId missing') end
local maxLen = fmt(intArg(3, 'historyMaxLen', 1)) -- >= 1: the last entry stays, so the stream's top is known
local ttl = fmt(intArg(4, 'ttlMs', 1)) -- PEXPIRE 0 would delete the run
local bufferMax = intArg(5, 'reorderBufferMax', 0)
if type(channel) ~= 'string' or channel == '' or type(msgPrefix) ~= 'string' or type(msgSuffix) ~= 'string' then
  refuse('room channel and message bytes missing')
end
if sharded then
  local tag = hashTag(metaKey)
  if not tag or hashTag(channel) ~= tag or hashTag(histKey) ~= tag or hashTag(pendKey) ~= tag then
    refuse('sharded channel ' .. channel .. ' is outside the slot of the run (its hash tag must be {' .. tostring(tag) .. '})')
  end
end

local STATUSES = { [''] = true, completed = true, failed = true, cancelled = true }

-- An event (argument or buffered): { seq, status, json body, map entries, entry count, gap table }.
local function checkBody(json, entries, count, what)
  if type(json) ~= 'string' or string.sub(json, 1, 6) ~= '{"id":' or string.find(json, '\n', 1, true) then
    refuse(what .. ': the JSON body must start with {"id": and hold no raw newline')
  end
  if type(entries) ~= 'string' or not isInt(count, 0) or count > 14 then
    refuse(what .. ': map entries must be a string and their count an integer 0..14')
  end
end

local okArgs, packed = pcall(cmsgpack.unpack, ARGV[9] or '')
if not okArgs or type(packed) ~= 'table' then refuse('ARGV[9] is not a MessagePack array') end
local events, gapArgs = {}, nil
if mode == 'commit' then
  for i, ev in ipairs(packed) do
    local what = 'event ' .. i
    if type(ev) ~= 'table' or not isInt(ev[1], 1) then refuse(what .. ': seq must be an integer >= 1') end
    if type(ev[2]) ~= 'string' or ev[2] == '' then refuse(what .. ': id must be a non-empty string') end
    if type(ev[3]) ~= 'string' or not STATUSES[ev[3]] then refuse(what .. ': unknown status ' .. tostring(ev[3])) end
    checkBody(ev[4], ev[5], ev[6], what)
    events[i] = ev
  end
  if #events ~= #packed then refuse('ARGV[9] must be an array') end
else
  gapArgs = { timeoutMs = packed[1], reason = packed[2], most = packed[3], idPrefix = packed[4] }
  if not isInt(gapArgs.timeoutMs, 0) or not isInt(gapArgs.most, 1) or type(gapArgs.reason) ~= 'string'
    or type(gapArgs.idPrefix) ~= 'string' then
    refuse('gap arguments must be [gapTimeoutMs >= 0, reason, most >= 1, id prefix]')
  end
end

-- ---------------------------------------------------------------- phase 2: reads and decisions (no writes)

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- Read first, each key once, so a key of the wrong type is refused here, before any write.
local function read(cmd, key, ...)
  local r = redis.pcall(cmd, key, ...)
  if type(r) == 'table' and r.err then refuse(key .. ': ' .. r.err) end
  return r
end
local m = read('HMGET', metaKey, 'headSeq', 'epoch', 'gapSince', 'status', 'owner', 'rid', 'crossed')
local top = read('XREVRANGE', histKey, '+', '-', 'COUNT', 1)
local pendLen = read('HLEN', pendKey)

local head = tonumber(m[1]) or 0
local epoch = tonumber(m[2])
local gapSince = tonumber(m[3])
local status = m[4]
local registered = m[5] ~= false and m[5] ~= nil
local startHead = head
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

-- What phase 3 writes, in order.
local epochFields = nil -- HSET of the meta's epoch fields (a new epoch), before anything else
local adds = {} -- { id, json, drainEnd or false, status, message }: XADD, then (S)PUBLISH the message
local added = {} -- seq -> the add, for a duplicate of an event appended earlier in this call
local pendSet, pendDel, pendTouched = {}, {}, {} -- buffer changes, by seq string, applied after every XADD
local appendedAny, bufferedAny, cappedGap = false, false, false

local function pendGet(seq)
  local k = fmt(seq)
  if pendDel[k] then return nil end
  if pendSet[k] then return pendSet[k] end
  return redis.call('HGET', pendKey, k) or nil
end

local function pendChange(seq, value)
  local k = fmt(seq)
  if value then
    pendSet[k], pendDel[k] = value, nil
  else
    pendSet[k], pendDel[k] = nil, true
  end
  pendTouched[#pendTouched + 1] = k
end

-- A buffered value "<status>\n<n>\n<json body>\n<msgpack entries>" as an event of `seq`.
local function parseBuffered(v, seq)
  local a = string.find(v, '\n', 1, true)
  local b = a and string.find(v, '\n', a + 1, true)
  local c = b and string.find(v, '\n', b + 1, true) -- the JSON body never holds a raw newline
  if not c then refuse('buffered seq ' .. fmt(seq) .. ' is corrupt') end
  local it = { seq, string.sub(v, 1, a - 1), string.sub(v, b + 1, c - 1), string.sub(v, c + 1), tonumber(string.sub(v, a + 1, b - 1)) }
  if not STATUSES[it[2]] then refuse('buffered seq ' .. fmt(seq) .. ' is corrupt') end
  checkBody(it[3], it[4], it[5], 'buffered seq ' .. fmt(seq))
  return it
end

-- The (S)PUBLISH message of an entry.
local function message(json, it)
  -- The adapter parses a message starting with '{' as JSON: the history entry itself is the envelope.
  if sharded then return msgPrefix .. json .. msgSuffix end
  if it[6] then
    it[6].epoch = epoch
    return msgPrefix .. cmsgpack.pack(it[6]) .. msgSuffix
  end
  -- The stored map plus one entry, epoch, in front.
  return msgPrefix .. string.char(128 + it[5] + 1) .. cmsgpack.pack('epoch') .. cmsgpack.pack(epoch) .. it[4] .. msgSuffix
end

-- Appends items (events, in seq order from head + 1), each published after its XADD.
local function append(items)
  if not epoch then
    epoch = now
    epochFields = { 'epoch', fmt(epoch), 'rid', replicationId() }
  end
  local lastSeq = items[#items][1]
  for i, it in ipairs(items) do
    local json = '{"epoch":' .. fmt(epoch) .. ',' .. string.sub(it[3], 2)
    local add = { fmt(it[1]) .. '-0', json, i == 1 and #items > 1 and fmt(lastSeq), it[2], message(json, it) }
    adds[#adds + 1] = add
    added[it[1]] = add
    if it[2] ~= '' then status = it[2] end
  end
  head = lastSeq
  appendedAny = true
end

-- Moves every buffered seq that follows `items` (or the head) onto the end of `items`.
local function drain(items)
  local nextSeq = head + 1
  if #items > 0 then nextSeq = items[#items][1] + 1 end
  if pendLen == 0 then return end
  while true do
    local v = pendGet(nextSeq)
    if not v then break end
    items[#items + 1] = parseBuffered(v, nextSeq)
    pendChange(nextSeq, nil)
    pendLen = pendLen - 1
    nextSeq = nextSeq + 1
  end
end

-- Repair: entries above the head are the XADDs of a call that failed before moving the head (see the top).
local adopted = 0
local topSeq = top[1] and tonumber(string.match(top[1][1], '^(%d+)-')) or 0
if registered and topSeq > head then
  for _, entry in ipairs(redis.call('XRANGE', histKey, fmt(head + 1) .. '-0', '+')) do
    local f = entry[2]
    for i = 1, #f, 2 do
      if f[i] == 's' and STATUSES[f[i + 1]] then status = f[i + 1] end
      if f[i] == 'e' and not epoch then epoch = tonumber(string.match(f[i + 1], '^{"epoch":(%d+),')) end
    end
    adopted = adopted + 1
  end
  if epoch and not m[2] then epochFields = { 'epoch', fmt(epoch), 'rid', replicationId() } end
  if pendLen > 0 then
    for _, k in ipairs(redis.call('HKEYS', pendKey)) do
      local n = tonumber(k)
      if n and n > head and n <= topSeq then
        pendChange(n, nil)
        pendLen = pendLen - 1
      end
    end
  end
  head = topSeq
  appendedAny = true
  local items = {}
  drain(items)
  if #items > 0 then append(items) end
end

-- True when the JSON body `json` (stored or buffered) is the envelope with event id `id`.
local function hasId(json, id)
  -- The envelope id is the first "id" member: the epoch is stamped before it, the body starts with it.
  local _, e = string.find(json, '"id":"', 1, true)
  return e ~= nil and string.sub(json, e + 1, e + #id + 1) == id .. '"'
end

-- The committed entry of `seq` (<= head) as { json, drainEnd }: from this call's appends, else the stream.
local function committed(seq)
  local add = added[seq]
  if add then return add[2], add[3] end
  local sid = fmt(seq) .. '-0'
  local entries = redis.call('XRANGE', histKey, sid, sid)
  if #entries == 0 then return nil end -- trimmed or expired
  local fields, json, drainEnd = entries[1][2], nil, nil
  for i = 1, #fields, 2 do
    if fields[i] == 'e' then json = fields[i + 1] elseif fields[i] == 'd' then drainEnd = fields[i + 1] end
  end
  return json, drainEnd
end

local function commitOne(ev)
  local seq, id = ev[1], ev[2]
  if not registered then return { 'unregistered', 0 } end
  if seq <= head then
    local json, drainEnd = committed(seq)
    if not json then return { 'duplicate', 0 } end -- nothing to re-publish
    if not hasId(json, id) then return { 'conflict', 0, json } end
    local out = { 'duplicate', 0, json }
    if drainEnd then
      if added[seq] then
        for s = seq + 1, tonumber(drainEnd) do out[#out + 1] = added[s][2] end
      else
        for _, entry in ipairs(redis.call('XRANGE', histKey, fmt(seq + 1) .. '-0', drainEnd .. '-0')) do
          local f = entry[2]
          for i = 1, #f, 2 do
            if f[i] == 'e' then out[#out + 1] = f[i + 1] end
          end
        end
      end
    end
    return out
  end
  if seq > head + 1 then
    local held = pendGet(seq)
    if held then
      local json = parseBuffered(held, seq)[3]
      if hasId(json, id) then return { 'duplicate', 0 } end
      return { 'conflict', 1, '{"epoch":' .. fmt(epoch or 0) .. ',' .. string.sub(json, 2) }
    end
    if seq - head > bufferMax + 1 then return { 'ahead', 0 } end
    if pendLen >= bufferMax then return { 'full', 0 } end
    pendChange(seq, ev[3] .. '\n' .. fmt(ev[6]) .. '\n' .. ev[4] .. '\n' .. ev[5])
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
  for _, ev in ipairs(events) do
    replies[#replies + 1] = commitOne(ev)
  end
else
  local reply = { 'skipped', 0, 0, 0, 0 }
  local previousEpoch = 0
  if pendLen > 0 and gapSince and now - gapSince >= gapArgs.timeoutMs then
    local first
    for _, k in ipairs(redis.call('HKEYS', pendKey)) do
      local n = tonumber(k)
      if n and not pendDel[k] then
        if n <= head then
          pendChange(n, nil) -- stale (cannot happen through this script; repaired, not trusted)
          pendLen = pendLen - 1
        elseif not first or n < first then
          first = n
        end
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
        epochFields = { 'epoch', fmt(epoch), 'rid', replicationId(), 'crossed', '0' }
      end
      local last = first - 1
      if last > head + gapArgs.most then
        last = head + gapArgs.most
        cappedGap = true
      end
      local items = {}
      local reason = gapArgs.reason
      local reasonJson = cjson.encode(reason)
      for s = head + 1, last do
        local gid = gapArgs.idPrefix .. '-' .. fmt(s)
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
end

local hasBuffered = pendLen > 0
local gapField = nil -- the meta's gapSince: a value to set, false to delete, nil to leave
if appendedAny or bufferedAny then
  if hasBuffered then
    -- Blocked (again) by the next missing seq: after a commit its wait starts now (unless a capped gap
    -- sweep stopped early: then the old gap is still overdue).
    if appendedAny and not (cappedGap and gapSince) then gapSince = now end
    gapField = fmt(gapSince)
  else
    gapSince = nil
    gapField = false
  end
end

-- ---------------------------------------------------------------- phase 3: writes (none of them can fail)

local publish = 'PUBLISH'
if sharded then publish = 'SPUBLISH' end
if epochFields then redis.call('HSET', metaKey, unpack(epochFields)) end
for _, a in ipairs(adds) do
  if a[3] and a[4] ~= '' then
    redis.call('XADD', histKey, 'MAXLEN', maxLen, a[1], 'e', a[2], 'd', a[3], 's', a[4])
  elseif a[3] then
    redis.call('XADD', histKey, 'MAXLEN', maxLen, a[1], 'e', a[2], 'd', a[3])
  elseif a[4] ~= '' then
    redis.call('XADD', histKey, 'MAXLEN', maxLen, a[1], 'e', a[2], 's', a[4])
  else
    redis.call('XADD', histKey, 'MAXLEN', maxLen, a[1], 'e', a[2])
  end
  redis.call(publish, channel, a[5])
end
-- The buffer changes after every XADD: a failure above (an ACL, see the top) leaves buffered events in place.
local sets, dels, seen = {}, {}, {}
for _, k in ipairs(pendTouched) do
  if not seen[k] then
    seen[k] = true
    if pendSet[k] then
      sets[#sets + 1] = k
      sets[#sets + 1] = pendSet[k]
    elseif pendDel[k] then
      dels[#dels + 1] = k
    end
  end
end
-- In slices: Lua's unpack() takes at most a few thousand values.
for i = 1, #sets, 1000 do redis.call('HSET', pendKey, unpack(sets, i, math.min(i + 999, #sets))) end
for i = 1, #dels, 1000 do redis.call('HDEL', pendKey, unpack(dels, i, math.min(i + 999, #dels))) end
if appendedAny then
  if not status or status == 'pending' then status = 'running' end
  redis.call('HSET', metaKey, 'headSeq', fmt(head), 'updatedAt', fmt(now), 'status', status)
end
if gapField then
  redis.call('HSET', metaKey, 'gapSince', gapField)
elseif gapField == false then
  redis.call('HDEL', metaKey, 'gapSince')
end
if appendedAny or bufferedAny then
  redis.call('PEXPIRE', metaKey, ttl)
  redis.call('PEXPIRE', histKey, ttl)
  redis.call('PEXPIRE', pendKey, ttl)
end
local b = 0
if hasBuffered then b = 1 end
table.insert(replies, 1, { head, epoch or 0, b, gapSince or 0, adopted })
return replies
