import type { Cluster, Redis } from 'ioredis';

/*
 * The Lua scripts behind every RedisStore call: one script, one round trip, atomic. Each reads the
 * clock with `TIME` so replicas with skewed clocks agree (Redis 5+ replicates script effects, so a
 * non-deterministic command before writes is allowed).
 *
 * NOTE: the minute-bucket scripts build bucket key names from the server time, so those keys cannot
 * be passed in KEYS. They share the hash tag of KEYS[1] (`{usage}` / `{reqstats}`), so they live in
 * the slot the script is routed to and the scripts stay Redis Cluster safe.
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Integer to string without Lua's `%.14g` exponent form. */
const INT = `
local function int(n) return string.format('%.0f', n) end
`;

/** Applies a writer sequence once: returns early when `seq` was already applied (seq 0 = no check). */
const WRITER_GUARD = (seqArg: string, ttlArg: string) => `
local seq = tonumber(${seqArg})
if seq > 0 then
  local last = tonumber(redis.call('GET', KEYS[#KEYS]) or '0')
  if seq <= last then return 0 end
  redis.call('SET', KEYS[#KEYS], ${seqArg}, 'PX', ${ttlArg})
end
`;

/**
 * KEYS: one ZSET per window. ARGV[1]: unique hit id; then limit, windowMs per window.
 * Returns {allowed, window index (1-based), limit, remaining, resetMs, retryAfterMs}.
 *
 * The `begin` variant (standalone Redis only: its last two keys are in the `{usage}` slot) also
 * writes an in-flight call when the hit is admitted, in the same atomic step. KEYS: the windows,
 * then the writer's in-flight HASH and the replicas ZSET; ARGV after the pairs: call id, in-flight
 * JSON, writer id, in-flight key ttl ms.
 */
const hitScript = (begin: boolean) => `${NOW}
local n = #KEYS${begin ? ' - 2' : ''}
local counts = {}
local refused, longest = 0, 0
for i = 1, n do
  local limit = tonumber(ARGV[2 * i])
  local win = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - win)
  local count = redis.call('ZCARD', KEYS[i])
  counts[i] = count
  if count >= limit then
    local leaving = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
    local wait = math.max(1, tonumber(leaving[2]) + win - now)
    if refused == 0 or wait > longest then refused, longest = i, wait end
  end
end
if refused > 0 then
  return {0, refused, tonumber(ARGV[2 * refused]), 0, longest, longest}
end
local tightest, tightestRemaining = 0, 0
for i = 1, n do
  local limit = tonumber(ARGV[2 * i])
  local win = tonumber(ARGV[2 * i + 1])
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], win)
  local remaining = limit - counts[i] - 1
  if tightest == 0 or remaining < tightestRemaining then tightest, tightestRemaining = i, remaining end
end
local reset = 0
if tightestRemaining == 0 then
  local win = tonumber(ARGV[2 * tightest + 1])
  local oldest = redis.call('ZRANGE', KEYS[tightest], 0, 0, 'WITHSCORES')
  reset = math.max(1, tonumber(oldest[2]) + win - now)
end
${
  begin
    ? `local b = 2 * n + 2
redis.call('HSET', KEYS[n + 1], ARGV[b], ARGV[b + 1])
redis.call('PEXPIRE', KEYS[n + 1], ARGV[b + 3])
redis.call('ZADD', KEYS[n + 2], now, ARGV[b + 2])
`
    : ''
}return {1, tightest, tonumber(ARGV[2 * tightest]), tightestRemaining, reset, 0}
`;

const HIT = hitScript(false);
const HIT_BEGIN = hitScript(true);

const PRUNE_BUDGET = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - win)
for _, id in ipairs(expired) do redis.call('HDEL', KEYS[2], id) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win) end
`;

/**
 * KEYS: budget log ZSET, budget tokens HASH. ARGV: reservation id, tokens, budget, windowMs.
 * Returns {allowed, used, retryAfterMs}.
 */
const RESERVE = `${NOW}
local id, tokens, budget, win = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
${PRUNE_BUDGET}
local used = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do used = used + tonumber(v) end
used = used - tonumber(redis.call('HGET', KEYS[2], id) or '0')
if used + tokens > budget then
  local wait = win
  if tokens <= budget then
    local excess, freed = used + tokens - budget, 0
    local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    for i = 1, #entries, 2 do
      if entries[i] ~= id then
        freed = freed + tonumber(redis.call('HGET', KEYS[2], entries[i]) or '0')
        if freed >= excess then
          wait = math.max(1, tonumber(entries[i + 1]) + win - now)
          break
        end
      end
    end
  end
  return {0, used, wait}
end
redis.call('ZADD', KEYS[1], now, id)
redis.call('HSET', KEYS[2], id, ARGV[2])
redis.call('PEXPIRE', KEYS[1], win)
redis.call('PEXPIRE', KEYS[2], win)
return {1, used + tokens, 0}
`;

/** KEYS: budget log ZSET, budget tokens HASH. ARGV: reservation id, tokens, windowMs. Returns 1 if settled. */
const SETTLE = `${NOW}
local id, tokens, win = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
${PRUNE_BUDGET}
if redis.call('HEXISTS', KEYS[2], id) == 0 then return 0 end
if tokens == 0 then
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
else
  redis.call('HSET', KEYS[2], id, ARGV[2])
end
return 1
`;

/**
 * Counting, shared by the usage and the recovery scripts. Expects `TOTALS` (totals hash), `GMIN`
 * (global minute bucket prefix), `HOUR` (hour bucket prefix), `RET` ({global, user} bucket
 * retention ms), and `PU`, `PT`, `RK` (report period user, totals and ranking prefixes) as locals;
 * `ranked` adds a call to its report periods. `count` sums increments per key and field; `commit` writes them once
 * each: a batch is the calls of one flush window, mostly of the same few users, models and
 * operations, and a HINCRBY per record and field was most of the server's work.
 *
 * `d` holds signed increments (a late record corrects an orphan estimate with negative ones):
 * p prompt, c completion, rt reasoning, cp cached prompt, ct cost ticks, r requests, e errors.
 */
const COUNT = `
local sums, order, since, expiry = {}, {}, {}, {}
local function add(key, field, n)
  if n == 0 then return end
  local fields = sums[key]
  if not fields then
    fields = {}
    sums[key] = fields
    order[#order + 1] = key
  end
  fields[field] = (fields[field] or 0) + n
end
local function bump(key, prefix, d)
  add(key, prefix .. 'p', d.p)
  add(key, prefix .. 'c', d.c)
  add(key, prefix .. 'rt', d.rt)
  add(key, prefix .. 'cp', d.cp)
  add(key, prefix .. 'ct', d.ct)
  add(key, prefix .. 'r', d.r)
  add(key, prefix .. 'e', d.e)
end
local function count(userKey, userMinutePrefix, op, model, ts, d, billed)
  for _, key in ipairs({TOTALS, userKey}) do
    bump(key, '', d)
    bump(key, 'op:' .. op .. ':', d)
    bump(key, 'model:' .. model .. ':', d)
    if not since[key] then since[key] = ts end
  end
  local minute = ts - (ts % 60000)
  local prefixes = {GMIN, userMinutePrefix}
  for b = 1, 2 do
    if minute + RET[b] > now then
      local key = prefixes[b] .. int(minute)
      bump(key, '', d)
      expiry[key] = minute + RET[b]
    end
  end
  if billed then
    add(TOTALS, 'bn', 1)
    add(TOTALS, 'bb', billed.b)
    add(TOTALS, 'bp', billed.p)
    local hour = ts - (ts % 3600000)
    if hour + RET[1] > now then
      local key = HOUR .. int(hour)
      add(key, 'bn', 1)
      add(key, 'bb', billed.b)
      add(key, 'bp', billed.p)
      expiry[key] = hour + RET[1]
    end
  end
end
local zsums, zorder = {}, {}
local function zadd(key, member, n, keep)
  if n == 0 and not keep then return end
  local members = zsums[key]
  if not members then
    members = {}
    zsums[key] = members
    zorder[#zorder + 1] = key
  end
  members[member] = (members[member] or 0) + n
end
-- Report periods (labels h<hour>, d<day>, m<month>) are kept 2, 40 and 400 days after their first
-- call. Per period: one HASH of every user's figures (fields <user>:<f>, and *r, the period's
-- requests), the totals (days and months; by operation and model for days) and two rankings.
local PRET = {h = 172800000, d = 3456000000, m = 34560000000}
local periodKeys = {}
local function ranked(user, labels, d, op, model, billed)
  for _, label in ipairs(labels) do
    local kind = string.sub(label, 1, 1)
    local ret = PRET[kind]
    if ret then
      local users = PU .. label
      bump(users, user .. ':', d)
      add(users, '*r', d.r)
      local keys = {users, RK .. 'ct:' .. label, RK .. 'tk:' .. label}
      if kind ~= 'h' then
        local totals = PT .. label
        bump(totals, '', d)
        if kind == 'd' then
          bump(totals, 'op:' .. op .. ':', d)
          bump(totals, 'model:' .. model .. ':', d)
        end
        if billed then
          add(totals, 'bn', 1)
          add(totals, 'bb', billed.b)
          add(totals, 'bp', billed.p)
        end
        keys[#keys + 1] = totals
      end
      zadd(RK .. 'ct:' .. label, user, d.ct, false)
      -- every user with a call is a member of the tokens ranking (0 tokens too): the active users
      zadd(RK .. 'tk:' .. label, user, d.p + d.c, d.r > 0)
      periodKeys[users] = {keys = keys, at = now + ret}
    end
  end
end
local function commit()
  for _, key in ipairs(order) do
    for field, n in pairs(sums[key]) do
      if n ~= 0 then
        local total = redis.call('HINCRBY', key, field, int(n))
        -- a period's first requests: its keys get their expiry, once
        if field == '*r' and total == n and periodKeys[key] then
          for _, k in ipairs(periodKeys[key].keys) do expiry[k] = periodKeys[key].at end
        end
      end
    end
    if since[key] then redis.call('HSETNX', key, 'since', int(since[key])) end
  end
  for _, key in ipairs(zorder) do
    for member, n in pairs(zsums[key]) do redis.call('ZINCRBY', key, int(n), member) end
  end
  for key, at in pairs(expiry) do redis.call('PEXPIREAT', key, int(at)) end
end
`;

/** ARGV values per entry of USAGE_BATCH. */
export const USAGE_ENTRY_ARGS = 20;

/** ARGV values of USAGE_BATCH before its entries. */
export const USAGE_BATCH_ARGS = 10;

/**
 * Applies a batch of usage entries (the records of a flush window, or a replay), atomically.
 * KEYS: 1 totals HASH, 2 writer STRING, 3 the writer's in-flight HASH, 4 replicas ZSET, then one
 * user HASH per entry.
 * ARGV: 1 global minute prefix, 2 global retention ms, 3 user retention ms, 4 writer key ttl ms,
 * 5 hour prefix, 6 recovered-call prefix, 7 writer id, 8 period user prefix, 9 period totals
 * prefix, 10 ranking prefix, then per entry (20 each): kind (`u` usage, `b` begin, `x` cancel),
 * prompt, completion, reasoning, cached prompt, cost ticks, error (0|1), operation, model, event
 * time ms ('' = now), user minute prefix, writer seq (0 = none), call id ('' = none), billed ticks
 * ('' = not billed), priced ticks, in-flight JSON (begin), user id, hour, day and month labels
 * ('' = not in the reports).
 *
 * An entry whose writer seq is at or below the highest applied one is skipped. A begin writes the
 * in-flight call and heartbeats the writer; a usage entry with a call id clears it, and when the
 * call is gone because a surviving replica recovered it (its tombstone), corrects what that replica
 * counted to this record's figures (no second request). Returns how many usage records counted.
 */
const USAGE_BATCH = `${NOW}${INT}
local TOTALS, GMIN, HOUR = KEYS[1], ARGV[1], ARGV[5]
local PU, PT, RK = ARGV[8], ARGV[9], ARGV[10]
local RET = {tonumber(ARGV[2]), tonumber(ARGV[3])}
${COUNT}
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local newest = last
local applied, began = 0, false
for r = 0, (#ARGV - ${USAGE_BATCH_ARGS}) / ${USAGE_ENTRY_ARGS} - 1 do
  local a = ${USAGE_BATCH_ARGS} + r * ${USAGE_ENTRY_ARGS}
  local seq = tonumber(ARGV[a + 12])
  if seq == 0 or seq > newest then
    if seq > 0 then newest = seq end
    local kind, callId = ARGV[a + 1], ARGV[a + 13]
    if kind == 'b' then
      redis.call('HSET', KEYS[3], callId, ARGV[a + 16])
      began = true
    elseif kind == 'x' then
      redis.call('HDEL', KEYS[3], callId)
    else
      local d = {
        p = tonumber(ARGV[a + 2]), c = tonumber(ARGV[a + 3]), rt = tonumber(ARGV[a + 4]),
        cp = tonumber(ARGV[a + 5]), ct = tonumber(ARGV[a + 6]), r = 1, e = tonumber(ARGV[a + 7])
      }
      local ts = now
      if ARGV[a + 10] ~= '' then ts = tonumber(ARGV[a + 10]) end
      local billed = nil
      if ARGV[a + 14] ~= '' then billed = {b = tonumber(ARGV[a + 14]), p = tonumber(ARGV[a + 15])} end
      local labels = {ARGV[a + 18], ARGV[a + 19], ARGV[a + 20]}
      local inPeriods = d
      if callId ~= '' and redis.call('HDEL', KEYS[3], callId) == 0 then
        local tomb = ARGV[6] .. callId
        local counted = redis.call('GET', tomb)
        if counted then
          local ok, est = pcall(cjson.decode, counted)
          redis.call('DEL', tomb)
          if ok then
            local full = {p = d.p, c = d.c, rt = d.rt, cp = d.cp, ct = d.ct, r = 1, e = d.e}
            d.p, d.c, d.ct, d.r = d.p - est.p, d.c - est.c, d.ct - est.ct, 0
            ts = est.t
            -- the estimate counted in its own start's periods: correct it there; else count it all here
            if est.ph then labels = {est.ph, est.pd, est.pm} else inPeriods = full end
          end
        end
      end
      count(KEYS[5 + r], ARGV[a + 11], ARGV[a + 8], ARGV[a + 9], ts, d, billed)
      ranked(ARGV[a + 17], labels, inPeriods, ARGV[a + 8], ARGV[a + 9], billed)
      applied = applied + 1
    end
  end
end
if newest > last then redis.call('SET', KEYS[2], int(newest), 'PX', ARGV[4]) end
if began then
  redis.call('ZADD', KEYS[4], now, ARGV[7])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
commit()
return applied
`;

/**
 * Begins and cancels in-flight calls, nothing else: the slim script a turn's begins go in when
 * no usage record rides along. KEYS: the writer's in-flight HASH, replicas ZSET. ARGV: 1 writer
 * id, 2 in-flight key ttl ms, then call id, in-flight JSON ('' = cancel) pairs. Returns 1.
 */
const INFLIGHT = `${NOW}
local began = false
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    began = true
  end
end
if began then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('ZADD', KEYS[2], now, ARGV[1])
end
return 1
`;

/**
 * Heartbeats one writer and counts the in-flight calls of writers whose heartbeat is older than the
 * staleness as estimated usage, each once: the call is removed in the same step, and a tombstone
 * with what was counted lets the writer's own late record correct it.
 * KEYS: 1 totals HASH, 2 replicas ZSET.
 * ARGV: 1 global minute prefix, 2 global retention ms, 3 user retention ms, 4 hour prefix,
 * 5 recovered-call prefix, 6 this writer id, 7 staleness ms, 8 most calls to recover, 9 in-flight
 * prefix, 10 user hash prefix, 11 user minute base, 12 tombstone ttl ms, 13 period user prefix,
 * 14 period totals prefix, 15 ranking prefix.
 * Returns {count, JSON of each recovered call (with `id`, `w` its writer and `t`, the time it was counted)}.
 */
const RECOVER = `${NOW}${INT}
local TOTALS, GMIN, HOUR = KEYS[1], ARGV[1], ARGV[4]
local PU, PT, RK = ARGV[13], ARGV[14], ARGV[15]
local RET = {tonumber(ARGV[2]), tonumber(ARGV[3])}
${COUNT}
redis.call('ZADD', KEYS[2], now, ARGV[6])
local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[7]))
local most = tonumber(ARGV[8])
local out = {0}
for _, writer in ipairs(dead) do
  if #out - 1 >= most then break end
  local key = ARGV[9] .. writer
  local flat = redis.call('HGETALL', key)
  for i = 1, #flat, 2 do
    if #out - 1 >= most then break end
    local ok, call = pcall(cjson.decode, flat[i + 1])
    if ok and type(call) == 'table' then
      local d = {p = call.p, c = call.c, rt = 0, cp = 0, ct = call.ct, r = 1, e = 0}
      count(ARGV[10] .. call.u, ARGV[11] .. call.u .. ':', call.o, call.m, now, d, nil)
      if call.ph then ranked(call.u, {call.ph, call.pd, call.pm}, d, call.o, call.m, nil) end
      call.t = now
      call.id = flat[i]
      call.w = writer
      local json = cjson.encode(call)
      redis.call('SET', ARGV[5] .. flat[i], json, 'PX', ARGV[12])
      out[#out + 1] = json
    end
    redis.call('HDEL', key, flat[i])
  end
  if redis.call('HLEN', key) == 0 then redis.call('ZREM', KEYS[2], writer) end
end
commit()
out[1] = #out - 1
return out
`;

/**
 * Restores usage hashes from an audit (`RedisUsageAudit.restore`): adds signed increments, all at
 * once, and moves each hash's `since` back to the first call restored into it. KEYS: the usage
 * hashes (one slot: `{usage}`). ARGV per key: since ms ('' = leave it), the number of fields n,
 * then n field, increment pairs. Returns the fields changed.
 */
const USAGE_RESTORE = `${INT}
local changed, a = 0, 1
for k = 1, #KEYS do
  local since, n = ARGV[a], tonumber(ARGV[a + 1])
  for i = 1, n do
    local d = tonumber(ARGV[a + 2 * i + 1])
    if d ~= 0 then
      redis.call('HINCRBY', KEYS[k], ARGV[a + 2 * i], int(d))
      changed = changed + 1
    end
  end
  if since ~= '' then
    local current = redis.call('HGET', KEYS[k], 'since')
    if not current or tonumber(current) > tonumber(since) then
      redis.call('HSET', KEYS[k], 'since', since)
      changed = changed + 1
    end
  end
  a = a + 2 + 2 * n
end
return changed
`;

/** Sums the last-hour minute buckets under prefix ARGV[1] into the USAGE_FIELDS order. */
const LAST_HOUR_SUMS = `
local current = now - (now % 60000)
local sums = {0, 0, 0, 0, 0, 0, 0, 0}
for i = 0, 59 do
  local v = redis.call('HMGET', ARGV[1] .. int(current - i * 60000), 'p', 'c', 'r', 'e', 'ct', 'rt', 'cp', 'cost')
  for j = 1, 8 do
    if v[j] then sums[j] = sums[j] + tonumber(v[j]) end
  end
end
`;

/**
 * KEYS: totals (or user) HASH. ARGV: 1 minute bucket prefix, 2 '1' = last hour only, 3 hour bucket
 * prefix ('' = no pricing check).
 * Returns {now, last-hour sums, HGETALL of KEYS[1], last-24 h pricing sums}, or {now, sums}.
 */
const USAGE_SNAPSHOT = `${NOW}${INT}${LAST_HOUR_SUMS}
if ARGV[2] == '1' then return {now, sums} end
local pricing = {0, 0, 0}
if ARGV[3] ~= '' then
  local hour = now - (now % 3600000)
  for i = 0, 23 do
    local v = redis.call('HMGET', ARGV[3] .. int(hour - i * 3600000), 'bn', 'bb', 'bp')
    for j = 1, 3 do
      if v[j] then pricing[j] = pricing[j] + tonumber(v[j]) end
    end
  end
end
return {now, sums, redis.call('HGETALL', KEYS[1]), pricing}
`;

/**
 * KEYS: any key of the {usage} slot (routing). ARGV: 1 minute bucket prefix, 2 lookback ms.
 * Returns {now, minute, <USAGE_FIELDS values>, minute, ...} for the non-empty buckets, oldest first.
 */
const USAGE_MINUTES = `${NOW}${INT}
local from = now - tonumber(ARGV[2])
from = from - (from % 60000)
local out = {now}
for m = from, now, 60000 do
  local v = redis.call('HMGET', ARGV[1] .. int(m), 'p', 'c', 'r', 'e', 'ct', 'rt', 'cp', 'cost')
  if v[1] or v[2] or v[3] or v[4] or v[5] or v[6] or v[7] or v[8] then
    out[#out + 1] = m
    for j = 1, 8 do out[#out + 1] = tonumber(v[j] or '0') end
  end
end
return out
`;

/**
 * KEYS: minute bucket HASH, writer STRING. ARGV: 1 writer seq (0 = none), 2 writer ttl ms,
 * 3 minute ms, 4 retention ms, then field, increment pairs. Returns 1 when applied.
 */
const ADD_REQUEST_STATS = `${WRITER_GUARD('ARGV[1]', 'ARGV[2]')}${NOW}${INT}
local minute, retention = tonumber(ARGV[3]), tonumber(ARGV[4])
if minute + retention <= now then return 0 end
for i = 5, #ARGV, 2 do
  if ARGV[i + 1] ~= '0' then redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('PEXPIREAT', KEYS[1], int(minute + retention))
return 1
`;

/**
 * KEYS: any key of the {reqstats} slot (routing). ARGV: 1 minute bucket prefix, 2 minutes to sum.
 * Returns {now, field, sum, field, sum, ...}.
 */
const REQUEST_STATS = `${NOW}${INT}
local current = now - (now % 60000)
local sums, order = {}, {}
for i = 0, tonumber(ARGV[2]) - 1 do
  local flat = redis.call('HGETALL', ARGV[1] .. int(current - i * 60000))
  for j = 1, #flat, 2 do
    local f = flat[j]
    if sums[f] == nil then
      sums[f] = 0
      order[#order + 1] = f
    end
    sums[f] = sums[f] + tonumber(flat[j + 1])
  end
end
local out = {now}
for _, f in ipairs(order) do
  out[#out + 1] = f
  out[#out + 1] = sums[f]
end
return out
`;

/** Appends a user's USAGE_FIELDS values from a period's user hash (`users`) to `out`. */
const PERIOD_FIGURES = `
local function figures(out, users, user)
  local p = user .. ':'
  for _, v in ipairs(redis.call('HMGET', users, p .. 'p', p .. 'c', p .. 'r', p .. 'e', p .. 'ct', p .. 'rt', p .. 'cp')) do
    out[#out + 1] = v or '0'
  end
  out[#out + 1] = '0'
end
`;

/**
 * A report period's top users. KEYS: the ranking ZSET, the period's user HASH. ARGV: 1 how many.
 * Returns {user, <USAGE_FIELDS values>, user, ...}, highest first.
 */
const PERIOD_TOP = `${PERIOD_FIGURES}
local out = {}
for _, user in ipairs(redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)) do
  out[#out + 1] = user
  figures(out, KEYS[2], user)
end
return out
`;

/**
 * A page of a report period's users. KEYS: the tokens ranking ZSET, the period's user HASH. ARGV:
 * 1 cursor, 2 count. Returns {next cursor, user, <USAGE_FIELDS values>, ...}.
 */
const PERIOD_SCAN = `${PERIOD_FIGURES}
local page = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local out = {page[1]}
for i = 1, #page[2], 2 do
  out[#out + 1] = page[2][i]
  figures(out, KEYS[2], page[2][i])
end
return out
`;

/** The scripts by the command name `defineCommand` gives them on the client. */
const SCRIPTS = {
  flashcaseHit: HIT,
  flashcaseHitBegin: HIT_BEGIN,
  flashcaseReserve: RESERVE,
  flashcaseSettle: SETTLE,
  flashcaseUsageBatch: USAGE_BATCH,
  flashcaseRecover: RECOVER,
  flashcaseUsageRestore: USAGE_RESTORE,
  flashcasePeriodTop: PERIOD_TOP,
  flashcasePeriodScan: PERIOD_SCAN,
  flashcaseInflight: INFLIGHT,
  flashcaseUsageSnapshot: USAGE_SNAPSHOT,
  flashcaseUsageMinutes: USAGE_MINUTES,
  flashcaseAddRequestStats: ADD_REQUEST_STATS,
  flashcaseRequestStats: REQUEST_STATS,
} as const;

type ScriptName = keyof typeof SCRIPTS;

/** A script command: `numkeys`, the keys, then the arguments (EVALSHA, EVAL on NOSCRIPT). */
type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** A client with the store's scripts defined on it. */
export type ScriptedClient = (Redis | Cluster) & Record<ScriptName, ScriptCommand>;

/**
 * Defines every script on the client (idempotent: redefining replaces the same script). ioredis
 * sends EVALSHA and falls back to EVAL when the server does not know the script (NOSCRIPT, e.g.
 * after a restart or SCRIPT FLUSH).
 */
export function defineScripts(client: Redis | Cluster): ScriptedClient {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { lua });
  }
  return client as ScriptedClient;
}
