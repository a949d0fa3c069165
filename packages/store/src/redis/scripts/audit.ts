import { INT } from './lua';

/**
 * Restores usage hashes from an audit (`RedisUsageAudit.restore`): adds signed increments, all at
 * once, and moves each hash's `since` back to the first call restored into it. KEYS: the usage
 * hashes (one slot: `{usage}`). ARGV per key: since ms ('' = leave it), the number of fields n,
 * then n field, increment pairs. Returns the fields changed.
 */
export const USAGE_RESTORE = `${INT}
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
