"""The Lua scripts behind ``RedisCheckpointer``; each runs atomically on the server.

Keys of one thread (``P`` is the checkpointer's prefix):

* ``P t:<thread>``  hash: ``seq`` latest, ``first`` oldest kept, ``status``, ``upd``
  (written at), ``owner`` and ``exp`` (lease, server ms), ``wid`` (last write id),
  ``pids`` (its inbox positions).
* ``P c:<thread>``  hash: ``h:<seq>`` header JSON, ``r:<seq>`` record, ``k:<seq>`` manifest
  JSON ``{state key: version}``.
* ``P b:<thread>``  hash: ``<version>:<state key>`` -> value document.

* ``P a:<thread>``  list: the thread's audit entries, ``<position>\\n<json row>`` each.

Shared: ``P pi`` (sorted set of inbox positions), ``P pr`` (hash position -> row),
``P pos`` (position counter), ``P px`` (hash interrupt id -> inbox position), ``P ar``
(hash position -> audit entry: the feed), ``P apos`` (audit position counter), ``P rd``
and ``P rd:<graph>`` (sorted sets of ready thread keys by time), ``P schema`` (the key
layout's version, 2). A thread's checkpoint is read with ``HMGET`` of the blobs its
manifest names.
"""

from __future__ import annotations

__all__ = [
    "ACQUIRE",
    "APPEND_AUDIT",
    "DELETE",
    "FIND_PENDING",
    "GET",
    "HISTORY",
    "LIST_PENDING",
    "MIGRATE_V2",
    "PRUNE",
    "PUT",
    "RELEASE",
    "RENEW",
]

_NOW = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

# HMGET in chunks: ``unpack`` of thousands of fields would overflow the Lua stack.
# Returns {seq, header, record, {keys...}, {documents...}} or false.
_LOAD = """
local function hmget(key, fields)
  local out = {}
  for first = 1, #fields, 500 do
    local part = redis.call('HMGET', key, unpack(fields, first, math.min(first + 499, #fields)))
    for j = 1, #part do out[#out + 1] = part[j] end
  end
  return out
end

local function load(seq)
  local s = tostring(seq)
  local parts = redis.call('HMGET', KEYS[2], 'h:' .. s, 'r:' .. s, 'k:' .. s)
  if not parts[1] then return false end
  local keys, fields, datas = {}, {}, {}
  for key, version in pairs(cjson.decode(parts[3])) do
    keys[#keys + 1] = key
    fields[#fields + 1] = string.format('%d', version) .. ':' .. key
  end
  if #fields > 0 then datas = hmget(KEYS[3], fields) end
  return {seq, parts[1], parts[2], keys, datas}
end
"""

# KEYS: t c b a; ARGV: owner lease_ms -> {1, checkpoint|false, whole, entries} or {0, holder}
# ``entries``: the thread's whole audit trail if it is paused (``whole`` 1: its stored
# answers), else only the trail's last entry, if any (the head the holder chains after).
ACQUIRE = (
    _NOW
    + _LOAD
    + """
local th = redis.call('HMGET', KEYS[1], 'owner', 'exp', 'seq', 'status')
if th[1] and th[1] ~= ARGV[1] and tonumber(th[2] or '0') > now then return {0, th[1]} end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'exp', string.format('%d', now + tonumber(ARGV[2])))
local seq = tonumber(th[3] or '0')
local whole, entries = 0, {}
if seq > 0 and th[4] == 'paused' then
  whole, entries = 1, redis.call('LRANGE', KEYS[4], 0, -1)
else
  local last = redis.call('LINDEX', KEYS[4], -1)
  if last then entries = {last} end
end
if seq == 0 then return {1, false, whole, entries} end
return {1, load(seq), whole, entries}
"""
)

# KEYS: t; ARGV: owner lease_ms -> 1 or 0
RENEW = (
    _NOW
    + """
local th = redis.call('HMGET', KEYS[1], 'owner', 'exp')
if th[1] ~= ARGV[1] or tonumber(th[2] or '0') <= now then return 0 end
redis.call('HSET', KEYS[1], 'exp', string.format('%d', now + tonumber(ARGV[2])))
return 1
"""
)

# KEYS: t; ARGV: owner -> 1 or 0
RELEASE = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'owner', 'exp')
return 1
"""

# Appends audit rows to the thread's trail and the store-wide feed. ``rows`` start at
# ARGV index ``i``; each is the JSON ``[thread, seq, body, prev_hash, hash]``.
_APPEND = """
local function append_audit(trail, feed, counter, i, n)
  for _ = 1, n do
    local pos = redis.call('INCR', counter)
    local entry = tostring(pos) .. '\\n' .. ARGV[i]
    redis.call('RPUSH', trail, entry)
    redis.call('HSET', feed, tostring(pos), entry)
    i = i + 1
  end
  return i
end
"""

# KEYS: t c b pi pr pos a ar apos px rd rdg
# ARGV: owner wid header record status created_at ttl_ms release clear_ready audit_head
#       n_audit [row]... n_blobs [key doc]... n_pending [row_prefix payload interrupt_id]...
#   -> seq; false if the lease is not held; -1 if the audit trail's head is not audit_head
PUT = (
    _NOW
    + _APPEND
    + """
local th = redis.call('HMGET', KEYS[1], 'owner', 'exp', 'seq', 'wid', 'pids')
if th[4] == ARGV[2] then return tonumber(th[3]) end
if th[1] ~= ARGV[1] or tonumber(th[2] or '0') <= now then return false end
local n_audit = tonumber(ARGV[11])
if n_audit > 0 and redis.call('LLEN', KEYS[7]) ~= tonumber(ARGV[10]) then return -1 end
local prev = tonumber(th[3] or '0')
local seq = prev + 1
local s = tostring(seq)
local manifest = {}
if prev > 0 then manifest = cjson.decode(redis.call('HGET', KEYS[2], 'k:' .. prev)) end
local i = append_audit(KEYS[7], KEYS[8], KEYS[9], 12, n_audit)
if ARGV[9] == '1' then
  redis.call('ZREM', KEYS[11], KEYS[1])
  redis.call('ZREM', KEYS[12], KEYS[1])
end
local n_blobs = tonumber(ARGV[i])
i = i + 1
for _ = 1, n_blobs do
  redis.call('HSET', KEYS[3], s .. ':' .. ARGV[i], ARGV[i + 1])
  manifest[ARGV[i]] = seq
  i = i + 2
end
redis.call('HSET', KEYS[2], 'h:' .. s, ARGV[3], 'r:' .. s, ARGV[4], 'k:' .. s,
  cjson.encode(manifest))
if th[5] then
  for pos in string.gmatch(th[5], '%S+') do
    redis.call('ZREM', KEYS[4], pos)
    local row = redis.call('HGET', KEYS[5], pos)
    if row then
      local head = cjson.decode(string.sub(row, 1, string.find(row, '\\n') - 1))
      redis.call('HDEL', KEYS[10], head[4])
    end
    redis.call('HDEL', KEYS[5], pos)
  end
end
local pids = {}
local n = tonumber(ARGV[i])
i = i + 1
for _ = 1, n do
  local pos = redis.call('INCR', KEYS[6])
  redis.call('ZADD', KEYS[4], pos, pos)
  redis.call('HSET', KEYS[5], pos, ARGV[i] .. s .. ']\\n' .. ARGV[i + 1])
  redis.call('HSET', KEYS[10], ARGV[i + 2], pos)
  pids[#pids + 1] = tostring(pos)
  i = i + 3
end
redis.call('HSET', KEYS[1], 'seq', s, 'status', ARGV[5], 'upd', ARGV[6], 'wid', ARGV[2],
  'pids', table.concat(pids, ' '))
redis.call('HSETNX', KEYS[1], 'first', s)
if ARGV[8] == '1' then redis.call('HDEL', KEYS[1], 'owner', 'exp') end
for k = 1, 3 do
  if ARGV[5] == 'done' and ARGV[7] ~= '' then
    redis.call('PEXPIRE', KEYS[k], ARGV[7])
  else
    redis.call('PERSIST', KEYS[k])
  end
end
return seq
"""
)

# KEYS: t a ar apos rd rdg wake; ARGV: checkpoint audit_head ready(0/1) at n [row]...
#   -> 1 appended, 0 something changed (the pause, the head, or a lease is held)
# A new ready mark is also an entry in the graph's answers stream (wake): exactly one
# worker gets it, before the graph's queued runs (``locus.workers.queue_redis``).
APPEND_AUDIT = (
    _NOW
    + _APPEND
    + """
local th = redis.call('HMGET', KEYS[1], 'seq', 'owner', 'exp')
if tonumber(th[1] or '0') ~= tonumber(ARGV[1]) then return 0 end
if th[2] and tonumber(th[3] or '0') > now then return 0 end
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[2]) then return 0 end
append_audit(KEYS[2], KEYS[3], KEYS[4], 6, tonumber(ARGV[5]))
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[5], 'NX', ARGV[4], KEYS[1])
  if redis.call('ZADD', KEYS[6], 'NX', ARGV[4], KEYS[1]) == 1 then
    redis.call('XADD', KEYS[7], '*', 'm', KEYS[1])
  end
end
return 1
"""
)

# KEYS: pr px; indexes inbox rows stored before schema 2 by interrupt id -> rows indexed
MIGRATE_V2 = """
local rows = redis.call('HGETALL', KEYS[1])
local n = 0
for j = 1, #rows, 2 do
  local row = rows[j + 1]
  local head = cjson.decode(string.sub(row, 1, string.find(row, '\\n') - 1))
  redis.call('HSETNX', KEYS[2], head[4], rows[j])
  n = n + 1
end
return n
"""

# KEYS: t c b; ARGV: seq ('' for the latest) -> checkpoint or false
GET = (
    _LOAD
    + """
local seq = tonumber(ARGV[1]) or tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
if seq == 0 or redis.call('EXISTS', KEYS[1]) == 0 then return false end
return load(seq)
"""
)

# KEYS: t c b; ARGV: limit (0 for all) -> {checkpoint...} newest first
HISTORY = (
    _LOAD
    + """
local th = redis.call('HMGET', KEYS[1], 'seq', 'first')
local latest, first = tonumber(th[1] or '0'), tonumber(th[2] or '1')
local limit = tonumber(ARGV[1])
local out = {}
for seq = latest, first, -1 do
  if limit > 0 and #out >= limit then break end
  local cp = load(seq)
  if cp then out[#out + 1] = cp end
end
return out
"""
)

# KEYS: px pr; ARGV: interrupt id -> {position, row} or false
FIND_PENDING = """
local position = redis.call('HGET', KEYS[1], ARGV[1])
if not position then return false end
local row = redis.call('HGET', KEYS[2], position)
if not row then return false end
return {position, row}
"""

# KEYS: pi pr; ARGV: max score ('+inf' or '(<position>') limit -> {positions, rows}
LIST_PENDING = (
    _LOAD
    + """
local positions = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '-inf', 'LIMIT', 0, ARGV[2])
if #positions == 0 then return {{}, {}} end
return {positions, hmget(KEYS[2], positions)}
"""
)

# KEYS: t c b pi pr px rd rdg -> 1 if the thread existed
DELETE = """
local pids = redis.call('HGET', KEYS[1], 'pids')
if pids then
  for pos in string.gmatch(pids, '%S+') do
    redis.call('ZREM', KEYS[4], pos)
    local row = redis.call('HGET', KEYS[5], pos)
    if row then
      local head = cjson.decode(string.sub(row, 1, string.find(row, '\\n') - 1))
      redis.call('HDEL', KEYS[6], head[4])
    end
    redis.call('HDEL', KEYS[5], pos)
  end
end
redis.call('ZREM', KEYS[7], KEYS[1])
redis.call('ZREM', KEYS[8], KEYS[1])
return redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) > 0 and 1 or 0
"""

# KEYS: t c b; ARGV: keep_last -> checkpoints deleted
PRUNE = """
local th = redis.call('HMGET', KEYS[1], 'seq', 'first')
local latest, first = tonumber(th[1] or '0'), tonumber(th[2] or '1')
local oldest = math.max(first, latest - tonumber(ARGV[1]) + 1)
if latest == 0 or oldest <= first then return 0 end
local dropped = 0
for seq = first, oldest - 1 do
  local s = tostring(seq)
  dropped = dropped + (redis.call('HDEL', KEYS[2], 'h:' .. s, 'r:' .. s, 'k:' .. s) > 0 and 1 or 0)
end
local needed = {}
for seq = oldest, latest do
  local text = redis.call('HGET', KEYS[2], 'k:' .. seq)
  if text then
    for key, version in pairs(cjson.decode(text)) do
      needed[string.format('%d', version) .. ':' .. key] = true
    end
  end
end
for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
  if not needed[field] and tonumber(string.match(field, '^(%d+):')) < oldest then
    redis.call('HDEL', KEYS[3], field)
  end
end
redis.call('HSET', KEYS[1], 'first', tostring(oldest))
return dropped
"""
