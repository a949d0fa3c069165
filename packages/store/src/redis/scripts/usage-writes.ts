import { COUNT } from './counting';
import { INT, NOW } from './lua';

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
export const USAGE_BATCH = `${NOW}${INT}
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
export const INFLIGHT = `${NOW}
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
