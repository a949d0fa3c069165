/*
 * The spend budgets' Lua scripts (see `SpendStore` in ./types). Every key they touch has the hash
 * tag `{spend}`, so one script can check a user's budgets and the deployment's together, on Redis
 * Cluster too (one slot).
 *
 * Layout: one HASH per budget and period (`s` spent ticks, `h` ticks held by calls under way), a
 * ZSET of holds scored by the time they lapse, a HASH hold id -> `ticks|key|key...`, and a HASH of
 * per-user overrides (`<user>:d`, `<user>:m` -> ticks).
 *
 * NOTE: a lapsed hold names its budget keys in its value, so the sweep touches keys that are not
 * in KEYS; they share the `{spend}` tag (and so the slot) of KEYS[1].
 */

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function int(n) return string.format('%.0f', n) end
`;

/**
 * Holds whose call never settled (its replica died, or it outlived the hold) become spent at
 * their worst case: a budget may be overstated after a crash, never understated.
 */
const SWEEP = `
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 100)
for _, hid in ipairs(lapsed) do
  local info = redis.call('HGET', KEYS[2], hid)
  if info then
    local ticks
    for part in string.gmatch(info, '[^|]+') do
      if not ticks then
        ticks = tonumber(part)
      elseif redis.call('EXISTS', part) == 1 then
        redis.call('HINCRBY', part, 'h', int(-ticks))
        redis.call('HINCRBY', part, 's', int(ticks))
      end
    end
    redis.call('HDEL', KEYS[2], hid)
  end
  redis.call('ZREM', KEYS[1], hid)
end
`;

/**
 * KEYS: holds ZSET, hold info HASH, overrides HASH, then one HASH per budget.
 * ARGV: hold id, ticks, hold ms, then per budget: default limit ticks (0 = none), override field
 * ('' = none), expire-at ms.
 * Returns {allowed, refusing budget (1-based, 0 = none), then per budget: limit, used before}.
 */
export const SPEND_RESERVE = `${NOW}${SWEEP}
local id, ticks, hold = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out, refused = {}, 0
for i = 4, #KEYS do
  local a = 4 + (i - 4) * 3
  local limit = tonumber(ARGV[a])
  if ARGV[a + 1] ~= '' then
    local own = redis.call('HGET', KEYS[3], ARGV[a + 1])
    if own then limit = tonumber(own) end
  end
  local v = redis.call('HMGET', KEYS[i], 's', 'h')
  local used = (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0)
  if refused == 0 and limit > 0 and used + ticks > limit then refused = i - 3 end
  out[#out + 1] = limit
  out[#out + 1] = used
end
if refused > 0 then
  table.insert(out, 1, refused)
  table.insert(out, 1, 0)
  return out
end
local info = ARGV[2]
for i = 4, #KEYS do
  redis.call('HINCRBY', KEYS[i], 'h', int(ticks))
  redis.call('PEXPIREAT', KEYS[i], ARGV[4 + (i - 4) * 3 + 2])
  info = info .. '|' .. KEYS[i]
end
redis.call('ZADD', KEYS[1], int(now + hold), id)
redis.call('HSET', KEYS[2], id, info)
table.insert(out, 1, 0)
table.insert(out, 1, 1)
return out
`;

/**
 * KEYS: holds ZSET, hold info HASH, then the budgets of the hold. ARGV: hold id, held ticks, real
 * ticks. A hold the sweep already spent at its worst case is corrected to the real cost. Returns
 * per budget: spent, held (after).
 */
export const SPEND_SETTLE = `
local function int(n) return string.format('%.0f', n) end
local id, held, real = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local live = redis.call('HDEL', KEYS[2], id) == 1
redis.call('ZREM', KEYS[1], id)
local out = {}
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    if live then
      redis.call('HINCRBY', KEYS[i], 'h', int(-held))
      redis.call('HINCRBY', KEYS[i], 's', int(real))
    elseif real ~= held then
      redis.call('HINCRBY', KEYS[i], 's', int(real - held))
    end
  end
  local v = redis.call('HMGET', KEYS[i], 's', 'h')
  out[#out + 1] = tonumber(v[1]) or 0
  out[#out + 1] = tonumber(v[2]) or 0
end
return out
`;

/** KEYS: the budgets. Returns per budget: spent, held. */
export const SPEND_STATUS = `
local out = {}
for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 's', 'h')
  out[#out + 1] = tonumber(v[1]) or 0
  out[#out + 1] = tonumber(v[2]) or 0
end
return out
`;
