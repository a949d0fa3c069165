import { NOW } from './lua';

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

export const HIT = hitScript(false);
export const HIT_BEGIN = hitScript(true);

const PRUNE_BUDGET = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - win)
for _, id in ipairs(expired) do redis.call('HDEL', KEYS[2], id) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win) end
`;

/**
 * KEYS: budget log ZSET, budget tokens HASH. ARGV: reservation id, tokens, budget, windowMs.
 * Returns {allowed, used, retryAfterMs}.
 */
export const RESERVE = `${NOW}
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
export const SETTLE = `${NOW}
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
