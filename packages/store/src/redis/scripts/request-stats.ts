import { INT, NOW, WRITER_GUARD } from './lua';

/**
 * KEYS: minute bucket HASH, writer STRING. ARGV: 1 writer seq (0 = none), 2 writer ttl ms,
 * 3 minute ms, 4 retention ms, then field, increment pairs. Returns 1 when applied.
 */
export const ADD_REQUEST_STATS = `${WRITER_GUARD('ARGV[1]', 'ARGV[2]')}${NOW}${INT}
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
export const REQUEST_STATS = `${NOW}${INT}
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
