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
 */
const HIT = `${NOW}
local n = #KEYS
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
return {1, tightest, tonumber(ARGV[2 * tightest]), tightestRemaining, reset, 0}
`;

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
 * Records a batch of usage records (one for a live call, many for a replay), atomically.
 * KEYS: 1 totals HASH, 2 writer STRING, then one user HASH per record.
 * ARGV: 1 global minute prefix, 2 global retention ms, 3 user retention ms, 4 writer key ttl ms, then
 * per record (9 each): prompt, completion, cost micros, error (0|1), operation, model,
 * event time ms ('' = now), user minute prefix, writer seq (0 = none).
 * A record whose writer seq is at or below the highest applied one is skipped. Returns how many
 * records were applied.
 */
const RECORD_USAGE = `${NOW}${INT}
local retention = {tonumber(ARGV[2]), tonumber(ARGV[3])}
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local applied = 0
-- Increments are summed per key and field first, then written once each: a batch is the calls of
-- one event-loop turn, mostly of the same few users, models and operations, and a HINCRBY per
-- record and field was most of the server's work (32 per call).
local sums, order, since, expiry = {}, {}, {}, {}
local function add(key, field, n)
  local fields = sums[key]
  if not fields then
    fields = {}
    sums[key] = fields
    order[#order + 1] = key
  end
  fields[field] = (fields[field] or 0) + n
end
for r = 0, (#ARGV - 4) / 9 - 1 do
  local a = 4 + r * 9
  local seq = tonumber(ARGV[a + 9])
  if seq == 0 or seq > last then
    if seq > 0 then
      last = seq
      redis.call('SET', KEYS[2], ARGV[a + 9], 'PX', ARGV[4])
    end
    local p, c, cost, e = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
    local function bump(key, prefix)
      if p ~= 0 then add(key, prefix .. 'p', p) end
      if c ~= 0 then add(key, prefix .. 'c', c) end
      add(key, prefix .. 'r', 1)
      if e ~= 0 then add(key, prefix .. 'e', 1) end
      if cost ~= 0 then add(key, prefix .. 'cost', cost) end
    end
    local ts = now
    if ARGV[a + 7] ~= '' then ts = tonumber(ARGV[a + 7]) end
    for _, key in ipairs({KEYS[1], KEYS[3 + r]}) do
      bump(key, '')
      bump(key, 'op:' .. ARGV[a + 5] .. ':')
      bump(key, 'model:' .. ARGV[a + 6] .. ':')
      if not since[key] then since[key] = ts end
    end
    local minute = ts - (ts % 60000)
    local prefixes = {ARGV[1], ARGV[a + 8]}
    for b = 1, 2 do
      if minute + retention[b] > now then
        local key = prefixes[b] .. int(minute)
        bump(key, '')
        expiry[key] = minute + retention[b]
      end
    end
    applied = applied + 1
  end
end
for _, key in ipairs(order) do
  for field, n in pairs(sums[key]) do redis.call('HINCRBY', key, field, int(n)) end
  if since[key] then redis.call('HSETNX', key, 'since', int(since[key])) end
  if expiry[key] then redis.call('PEXPIREAT', key, int(expiry[key])) end
end
return applied
`;

/** Sums the last-hour minute buckets under prefix ARGV[1] into {p, c, r, e, cost}. */
const LAST_HOUR_SUMS = `
local current = now - (now % 60000)
local sums = {0, 0, 0, 0, 0}
for i = 0, 59 do
  local v = redis.call('HMGET', ARGV[1] .. int(current - i * 60000), 'p', 'c', 'r', 'e', 'cost')
  for j = 1, 5 do
    if v[j] then sums[j] = sums[j] + tonumber(v[j]) end
  end
end
`;

/**
 * KEYS: totals (or user) HASH. ARGV: 1 minute bucket prefix, 2 '1' = last hour only.
 * Returns {now, last-hour sums} or {now, last-hour sums, HGETALL of KEYS[1]}.
 */
const USAGE_SNAPSHOT = `${NOW}${INT}${LAST_HOUR_SUMS}
if ARGV[2] == '1' then return {now, sums} end
return {now, sums, redis.call('HGETALL', KEYS[1])}
`;

/**
 * KEYS: any key of the {usage} slot (routing). ARGV: 1 minute bucket prefix, 2 lookback ms.
 * Returns {now, minute, p, c, r, e, cost, minute, ...} for the non-empty buckets, oldest first.
 */
const USAGE_MINUTES = `${NOW}${INT}
local from = now - tonumber(ARGV[2])
from = from - (from % 60000)
local out = {now}
for m = from, now, 60000 do
  local v = redis.call('HMGET', ARGV[1] .. int(m), 'p', 'c', 'r', 'e', 'cost')
  if v[1] or v[2] or v[3] or v[4] or v[5] then
    out[#out + 1] = m
    for j = 1, 5 do out[#out + 1] = tonumber(v[j] or '0') end
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

/** The scripts by the command name `defineCommand` gives them on the client. */
const SCRIPTS = {
  flashcaseHit: HIT,
  flashcaseReserve: RESERVE,
  flashcaseSettle: SETTLE,
  flashcaseRecordUsage: RECORD_USAGE,
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
