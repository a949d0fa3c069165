import { COUNT } from './counting';
import { INT, NOW } from './lua';

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
export const RECOVER = `${NOW}${INT}
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
