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
export const COUNT = `
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
