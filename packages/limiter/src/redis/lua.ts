/**
 * Lua for the Redis store. The prelude loads each policy's state into a table; the two bodies
 * (limit: consume | peek | lease, and refund) are separate scripts, one per operation.
 *
 * Calling convention: KEYS = the state key of each policy in order, sliding-log policies adding
 * their meta key right after it (all with the same `{hash tag}`).
 * ARGV = mode, cost, now ('' = Redis server TIME), policy count, then per policy:
 * algorithm code (1 fixed, 2 sliding-window, 3 gcra, 4 sliding-log), limit, windowMs, burst, ttl.
 * The TTL is a constant upper bound computed by the client (W, 2W, burst·W/limit, W): number to
 * string conversions cost ~0.5 µs each inside Redis Lua, so the script avoids them where it can.
 * All numbers are integers below 2^53; they are written with %.0f because Lua's tostring
 * switches to exponent notation past 14 digits and would silently lose precision.
 */
const PRELUDE = `
local sformat = string.format
local function fmt(n) return sformat('%.0f', n) end
local function fdiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end
local function cdiv(a, b) return -fdiv(-a, b) end
local match = string.match
local function pair(raw)
  local a, b = match(raw, '^([^:]+):([^:]+)')
  return tonumber(a), tonumber(b)
end
local injected = ARGV[3] ~= ''
local now
if injected then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Correctness never depends on key expiry: state carries its own window index or timestamp and
-- TTLs (constant upper bounds sent by the client) only collect garbage.
local function avail(s)
  local a
  if s.algo == 1 then
    a = s.limit - s.c
  elseif s.algo == 2 then
    local scaled = s.prev * (s.win - (now - s.w * s.win)) + s.cur * s.win
    a = fdiv(s.limit * s.win - scaled, s.win)
  elseif s.algo == 3 then
    a = fdiv(s.burst * s.win - s.debt, s.win)
  else
    a = s.limit - s.sum
  end
  if a < 0 then a = 0 end
  return a
end

-- One table per policy, created with every field so Lua sizes it once.
local ki = 0
local function load(i)
  local b = 4 + (i - 1) * 5
  local algo = tonumber(ARGV[b + 1])
  ki = ki + 1
  local s = { algo = algo, limit = tonumber(ARGV[b + 2]), win = tonumber(ARGV[b + 3]), burst = tonumber(ARGV[b + 4]),
    ttl = ARGV[b + 5], k = KEYS[ki], m = false, w = 0, c = 0, cur = 0, prev = 0, at = now, debt = 0, sum = 0, seq = 0,
    dirty = false, committed = false, avail = 0 }
  if algo == 1 then
    s.w = fdiv(now, s.win)
    local raw = redis.call('GET', s.k)
    if raw then
      local w, c = pair(raw)
      if w == s.w then s.c = c end
    end
  elseif algo == 2 then
    s.w = fdiv(now, s.win)
    local raw = redis.call('GET', s.k)
    if raw then
      local w, c, p = match(raw, '^([^:]+):([^:]+):([^:]+)')
      w = tonumber(w)
      if w == s.w then s.cur = tonumber(c); s.prev = tonumber(p) elseif w == s.w - 1 then s.prev = tonumber(c) end
    end
  elseif algo == 3 then
    local raw = redis.call('GET', s.k)
    if raw then
      s.at, s.debt = pair(raw)
      if now > s.at then
        local elapsed = now - s.at
        -- elapsed*limit >= debt <=> elapsed >= ceil(debt/limit); past 2^53 the rounded product still exceeds debt.
        if elapsed * s.limit >= s.debt then s.debt = 0 else s.debt = s.debt - elapsed * s.limit end
        s.at = now
      end
    end
  else
    ki = ki + 1
    s.m = KEYS[ki]
    local raw = redis.call('GET', s.m)
    if raw then
      s.sum, s.seq = pair(raw)
      local cutoff = fmt(now - s.win)
      local old = redis.call('ZRANGEBYSCORE', s.k, '-inf', cutoff)
      if #old > 0 then
        for _, member in ipairs(old) do
          local _, c = pair(member)
          s.sum = s.sum - c
        end
        redis.call('ZREMRANGEBYSCORE', s.k, '-inf', cutoff)
        s.dirty = true
      end
    else
      redis.call('DEL', s.k)
    end
  end
  s.avail = avail(s)
  return s
end

local function newest(s)
  if s.committed then return now end
  local top = redis.call('ZRANGE', s.k, -1, -1, 'WITHSCORES')
  if #top == 0 then return now end
  return tonumber(top[2])
end

local function write(s)
  if s.algo == 1 then
    redis.call('SET', s.k, fmt(s.w) .. ':' .. fmt(s.c), 'PX', s.ttl)
  elseif s.algo == 2 then
    redis.call('SET', s.k, fmt(s.w) .. ':' .. fmt(s.cur) .. ':' .. fmt(s.prev), 'PX', s.ttl)
  elseif s.algo == 3 then
    redis.call('SET', s.k, fmt(s.at) .. ':' .. fmt(s.debt), 'PX', s.ttl)
  elseif s.dirty then
    if s.sum > 0 then
      redis.call('SET', s.m, fmt(s.sum) .. ':' .. fmt(s.seq), 'PX', s.ttl)
      redis.call('PEXPIRE', s.k, s.ttl)
    else
      redis.call('DEL', s.k, s.m)
    end
  end
end

local function consume(s, amount)
  if s.algo == 1 then
    s.c = s.c + amount
  elseif s.algo == 2 then
    s.cur = s.cur + amount
  elseif s.algo == 3 then
    s.debt = s.debt + amount * s.win
  else
    s.seq = s.seq + 1
    redis.call('ZADD', s.k, fmt(now), fmt(s.seq) .. ':' .. fmt(amount))
    s.sum = s.sum + amount
    s.committed = true
    s.dirty = true
  end
  write(s)
end

local function reset_at(s)
  if s.algo == 1 then
    if s.c > 0 then return (s.w + 1) * s.win end
    return now
  elseif s.algo == 2 then
    if s.cur > 0 then return (s.w + 2) * s.win end
    if s.prev > 0 then return (s.w + 1) * s.win end
    return now
  elseif s.algo == 3 then
    return s.at + cdiv(s.debt, s.limit)
  end
  if s.sum > 0 then return newest(s) + s.win end
  return now
end
`;

const LIMIT_BODY = `
local function retry(s, cost)
  if s.algo == 3 then
    if cost > s.burst then return -1 end
    local r = cdiv(s.debt + cost * s.win - s.burst * s.win, s.limit)
    if r < 0 then r = 0 end
    return r
  end
  if cost > s.limit then return -1 end
  if s.algo == 1 then return (s.w + 1) * s.win - now end
  if s.algo == 2 then
    local start = s.w * s.win
    local room = s.limit - s.cur - cost
    if room >= 0 then
      local e = 0
      if s.prev > 0 then e = s.win - fdiv(room * s.win, s.prev) end
      local r = start + e - now
      if r < 0 then r = 0 end
      return r
    end
    local e = s.win - fdiv((s.limit - cost) * s.win, s.cur)
    if e < 0 then e = 0 end
    return start + s.win + e - now
  end
  local needed = s.sum + cost - s.limit
  local all = redis.call('ZRANGE', s.k, 0, -1, 'WITHSCORES')
  for j = 1, #all, 2 do
    local _, c = pair(all[j])
    needed = needed - c
    if needed <= 0 then return tonumber(all[j + 1]) + s.win - now end
  end
  return 0
end

local mode = ARGV[1]
local cost = tonumber(ARGV[2])
local n = tonumber(ARGV[4])
local states = {}
local all = true
local grant = cost
for i = 1, n do
  local s = load(i)
  states[i] = s
  if mode == 'lease' then
    if s.avail < grant then grant = s.avail end
  elseif cost > s.avail then
    all = false
  end
end
if mode == 'lease' then
  cost = grant
  all = grant > 0
end
local commit = all and mode ~= 'peek' and cost > 0
local out = { all and 1 or 0, now, commit and cost or 0 }
-- A lease that got nothing is reported against a unit cost, so exhausted policies show as violated.
local check = cost
if mode == 'lease' and check < 1 then check = 1 end
for i = 1, n do
  local s = states[i]
  if commit then consume(s, cost) elseif s.algo == 4 then write(s) end
  local ok = check <= s.avail
  out[#out + 1] = ok and 1 or 0
  out[#out + 1] = commit and (s.avail - cost) or s.avail
  out[#out + 1] = reset_at(s)
  out[#out + 1] = ok and 0 or retry(s, check)
end
return out
`;

const REFUND_BODY = `
local amount = tonumber(ARGV[2])
local n = tonumber(ARGV[4])
local out = { 1, now, 0 }
for i = 1, n do
  local s = load(i)
  if s.algo == 1 then
    s.c = math.max(0, s.c - amount)
  elseif s.algo == 2 then
    local from_cur = math.min(s.cur, amount)
    s.cur = s.cur - from_cur
    s.prev = math.max(0, s.prev - (amount - from_cur))
  elseif s.algo == 3 then
    s.debt = math.max(0, s.debt - amount * s.win)
  else
    -- Newest entries go first: they are the ones a refund most likely corresponds to.
    local left = amount
    while left > 0 and s.sum > 0 do
      local top = redis.call('ZRANGE', s.k, -1, -1, 'WITHSCORES')
      if #top == 0 then break end
      local _, c = pair(top[1])
      redis.call('ZREM', s.k, top[1])
      if c > left then
        s.seq = s.seq + 1
        redis.call('ZADD', s.k, top[2], fmt(s.seq) .. ':' .. fmt(c - left))
        s.sum = s.sum - left
        left = 0
      else
        s.sum = s.sum - c
        left = left - c
      end
    end
    s.dirty = true
  end
  write(s)
  s.avail = avail(s)
  out[#out + 1] = 1
  out[#out + 1] = s.avail
  out[#out + 1] = reset_at(s)
  out[#out + 1] = 0
end
return out
`;

/** Script for consume / peek / lease. */
export const LIMIT_LUA = PRELUDE + LIMIT_BODY;
/** Script for refund. */
export const REFUND_LUA = PRELUDE + REFUND_BODY;

/**
 * Single-policy GCRA for consume and peek, the common case, without the generic machinery
 * (no helper closures or per-policy tables are built per call; one string.format per write).
 * Same state format and answers as the generic script, so both can serve the same key.
 * KEYS[1] = state key; ARGV = mode, cost, now ('' = TIME), limit, windowMs, burst, ttl.
 */
export const GCRA_LUA = `
local cost = tonumber(ARGV[2])
local now
if ARGV[3] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[3])
end
local limit, win, burst = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local at, debt = now, 0
local raw = redis.call('GET', KEYS[1])
if raw then
  local a, d = string.match(raw, '^([^:]+):([^:]+)')
  at, debt = tonumber(a), tonumber(d)
  if now > at then
    if (now - at) * limit >= debt then debt = 0 else debt = debt - (now - at) * limit end
    at = now
  end
end
local cap = burst * win
-- floor((cap - debt) / win), corrected for float rounding (all values < 2^53)
local x = cap - debt
local avail = math.floor(x / win)
if avail * win > x then avail = avail - 1 elseif (avail + 1) * win <= x then avail = avail + 1 end
if avail < 0 then avail = 0 end
local ok = cost <= avail
local commit = ok and ARGV[1] == 'consume' and cost > 0
if commit then
  debt = debt + cost * win
  redis.call('SET', KEYS[1], string.format('%.0f:%.0f', at, debt), 'PX', ARGV[7])
end
-- ceil(y / limit) = -floor(-y / limit), same correction
local function cdiv(y)
  local q = math.floor(-y / limit)
  if q * limit > -y then q = q - 1 elseif (q + 1) * limit <= -y then q = q + 1 end
  return -q
end
local retry = 0
if not ok then
  if cost > burst then retry = -1 else
    retry = cdiv(debt + cost * win - cap)
    if retry < 0 then retry = 0 end
  end
end
return { ok and 1 or 0, now, commit and cost or 0, ok and 1 or 0, commit and (avail - cost) or avail, at + cdiv(debt), retry }
`;
