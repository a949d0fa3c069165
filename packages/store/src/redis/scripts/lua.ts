/*
 * Lua snippets every script of the store starts from. Each script reads the clock with `TIME` so
 * replicas with skewed clocks agree (Redis 5+ replicates script effects, so a non-deterministic
 * command before writes is allowed).
 */

/** Defines `now`, the server's time in ms. */
export const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Integer to string without Lua's `%.14g` exponent form. */
export const INT = `
local function int(n) return string.format('%.0f', n) end
`;

/** Applies a writer sequence once: returns early when `seq` was already applied (seq 0 = no check). */
export const WRITER_GUARD = (seqArg: string, ttlArg: string) => `
local seq = tonumber(${seqArg})
if seq > 0 then
  local last = tonumber(redis.call('GET', KEYS[#KEYS]) or '0')
  if seq <= last then return 0 end
  redis.call('SET', KEYS[#KEYS], ${seqArg}, 'PX', ${ttlArg})
end
`;
