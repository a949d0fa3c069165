import { INT, NOW } from './lua';

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
export const USAGE_SNAPSHOT = `${NOW}${INT}${LAST_HOUR_SUMS}
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
export const USAGE_MINUTES = `${NOW}${INT}
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
export const PERIOD_TOP = `${PERIOD_FIGURES}
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
export const PERIOD_SCAN = `${PERIOD_FIGURES}
local page = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local out = {page[1]}
for i = 1, #page[2], 2 do
  out[#out + 1] = page[2][i]
  figures(out, KEYS[2], page[2][i])
end
return out
`;
