/**
 * Lua for the Redis store, assembled from fragments so that a lone call and a coalesced batch run
 * the very same request code (see `RedisStore`'s `coalesce` option) — the algorithms exist once:
 *
 * - `CLOCK`: the request time (`clock(arg)`: the injected test time, or Redis `TIME`, read at most
 *   once per script run) and the KEYS cursor `ki` (each request takes its keys in order);
 * - `POLICIES`: a batch's distinct policies and its request parser;
 * - `GCRA_FN`: `gcra(out, key, mode, cost, now, limit, win, burst, ttl)`, the lean single-policy
 *   GCRA request (consume | peek), the common call;
 * - `GENERIC_FNS`: `limit_req(out, mode, cost, policies)` (consume | peek | lease, any policies,
 *   all or nothing) and `refund_req(…)`, on per-policy state tables;
 * - `RUN_LOOP`: runs a batch's requests in order, each under `pcall`.
 *
 * Three entry points: {@link GCRA_LUA} (one lean GCRA call) and {@link LIMIT_LUA} (one generic
 * call) take a lone call in its smallest encoding, without the batch's policy table, parser, loop
 * and pcall, which would cost a lone call 1–2 µs of Redis CPU for nothing; {@link BATCH_LUA} runs
 * a coalesced batch of requests of any kind. Each request is atomic and all or nothing across its
 * policies, and answered exactly as if it had run alone at that instant.
 *
 * Lone encodings. GCRA_LUA: KEYS[1] = state key; ARGV = mode, cost, now ('' = Redis server TIME),
 * limit, windowMs, burst, ttl. LIMIT_LUA: KEYS = the state key of each policy in order,
 * sliding-log policies adding their meta key right after it; ARGV = mode (consume | peek | lease |
 * refund), cost, now, then per policy: algorithm code (1 fixed, 2 sliding-window, 3 gcra,
 * 4 sliding-log), limit, windowMs, burst, ttl.
 *
 * Batch encoding (BATCH_LUA). KEYS = the requests' keys (as above), concatenated in request order.
 * ARGV[1] = P, the number of distinct policies of the batch, then their 5 arguments each (as
 * above), then one ARGV entry per request, `kind:mode:cost:now:indexes`, naming its policies by
 * their index (1-based) in that list: `g:consume:1::1` (lean GCRA) or `x:lease:10::2,3` (generic).
 * One string per request rather than five arguments: each argument costs the client ~0.3 µs to
 * serialise (ioredis), while matching the string costs Redis no more than reading five arguments.
 * All keys of one request share its `{hash tag}`; only a Redis Cluster needs all keys of a script
 * in one slot, and there the store batches one limiter key at a time.
 *
 * Reply: the requests' answers concatenated, each `allowed, now, consumed` followed per policy by
 * `allowed, remaining, resetAt, retryAfterMs (-1 = never)`. In a BATCH_LUA run, a request whose code
 * raised an error (e.g. WRONGTYPE on its key) answers `-1, message` instead, and only that request
 * fails (what it wrote before failing stays written, as it would have if it ran alone).
 *
 * The TTL is a constant upper bound computed by the client (W, 2W, burst·W/limit, W): number to
 * string conversions cost ~0.5 µs each inside Redis Lua, so the script avoids them where it can.
 * All numbers are integers below 2^53; they are written with %.0f because Lua's tostring switches
 * to exponent notation past 14 digits and would silently lose precision.
 */
const CLOCK = `
local now = 0
local server_now = false
-- The request's time: the injected (test) time, or Redis server TIME, read at most once per
-- script run (a batch's requests are decided at one instant, in order).
local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  if not server_now then
    local t = redis.call('TIME')
    server_now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return server_now
end
-- The last KEYS entry used: each request takes its keys in order.
local ki = 0
`;

/** A batch's distinct policies and its request parser. */
const POLICIES = `
-- The distinct policies: { code, limit, windowMs, burst, ttl (string) }, parsed once per run.
local pols = {}
local np = tonumber(ARGV[1])
for i = 1, np do
  local b = 1 + (i - 1) * 5
  pols[i] = { tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), ARGV[b + 5] }
end
local smatch, gmatch = string.match, string.gmatch
-- A request: 'kind:mode:cost:now:indexes' (kind g | x; indexes comma-separated, 1-based).
local function parse(arg)
  local kind, mode, cost, at, idx = smatch(arg, '^(%a):(%a+):(%d+):(%-?%d*):([%d,]+)$')
  return kind, mode, tonumber(cost), at, idx
end
-- The policies of a generic request and the KEYS index of its last key.
local function policies_of(idx)
  local list, last = {}, ki
  for i in gmatch(idx, '%d+') do
    local pol = pols[tonumber(i)]
    list[#list + 1] = pol
    if pol[1] == 4 then last = last + 2 else last = last + 1 end
  end
  return list, last
end
`;

/**
 * Single-policy GCRA for consume and peek, the common case, without the generic machinery
 * (no per-policy state tables; one string.format per write). Same state format and answers as the
 * generic code, so both can serve the same key.
 */
const GCRA_FN = `
-- ceil(y / d) = -floor(-y / d), corrected for float rounding (all values < 2^53)
local function gcra_cdiv(y, d)
  local q = math.floor(-y / d)
  if q * d > -y then q = q - 1 elseif (q + 1) * d <= -y then q = q + 1 end
  return -q
end
local function gcra(out, key, mode, cost, now, limit, win, burst, ttl)
  local at, debt = now, 0
  local raw = redis.call('GET', key)
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
  local commit = ok and mode == 'consume' and cost > 0
  if commit then
    debt = debt + cost * win
    redis.call('SET', key, string.format('%.0f:%.0f', at, debt), 'PX', ttl)
  end
  local retry = 0
  if not ok then
    if cost > burst then retry = -1 else
      retry = gcra_cdiv(debt + cost * win - cap, limit)
      if retry < 0 then retry = 0 end
    end
  end
  local o = #out
  out[o + 1] = ok and 1 or 0
  out[o + 2] = now
  out[o + 3] = commit and cost or 0
  out[o + 4] = ok and 1 or 0
  out[o + 5] = commit and (avail - cost) or avail
  out[o + 6] = at + gcra_cdiv(debt, limit)
  out[o + 7] = retry
end
`;

/** Any policy set: limit_req (consume | peek | lease) and refund_req, on per-policy state tables. */
const GENERIC_FNS = `
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

-- The state of one policy of the request (taking its keys): one table per policy, created with
-- every field so Lua sizes it once.
local function load(pol)
  local algo = pol[1]
  ki = ki + 1
  local s = { algo = algo, limit = pol[2], win = pol[3], burst = pol[4], ttl = pol[5], k = KEYS[ki], m = false,
    w = 0, c = 0, cur = 0, prev = 0, at = now, debt = 0, sum = 0, seq = 0, dirty = false, committed = false, avail = 0 }
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

-- consume | peek | lease on every policy of the request, all or nothing (\`now\` is set).
local function limit_req(out, mode, cost, list)
  local n = #list
  local states = {}
  local all = true
  local grant = cost
  for i = 1, n do
    local s = load(list[i])
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
  out[#out + 1] = all and 1 or 0
  out[#out + 1] = now
  out[#out + 1] = commit and cost or 0
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
end

-- Gives the cost back to every policy of the request, floored at empty (\`now\` is set).
local function refund_req(out, _, amount, list)
  out[#out + 1] = 1
  out[#out + 1] = now
  out[#out + 1] = 0
  for i = 1, #list do
    local s = load(list[i])
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
end
`;

/**
 * Runs the requests in order, each under pcall so that an error of one (e.g. WRONGTYPE) is answered
 * as `-1, message` for it alone. The KEYS cursor is set past each request whatever happened to it.
 */
const RUN_LOOP = `
local out = {}
for r = 2 + np * 5, #ARGV do
  local kind, mode, cost, at, idx = parse(ARGV[r])
  local base = #out
  local ok, err, last
  if kind == 'g' then
    local pol = pols[tonumber(idx)]
    last = ki + 1
    ok, err = pcall(gcra, out, KEYS[last], mode, cost, clock(at), pol[2], pol[3], pol[4], pol[5])
  else
    local list
    list, last = policies_of(idx)
    now = clock(at)
    ok, err = pcall(mode == 'refund' and refund_req or limit_req, out, mode, cost, list)
  end
  if not ok then
    for j = #out, base + 1, -1 do out[j] = nil end
    if type(err) == 'table' then err = err.err end
    out[base + 1] = -1
    out[base + 2] = tostring(err)
  end
  ki = last
end
return out
`;

/**
 * A lone lean GCRA call (one GCRA policy, consume or peek), the common call, with the smallest
 * encoding: KEYS[1] = state key; ARGV = mode, cost, now ('' = TIME), limit, windowMs, burst, ttl.
 * Same `gcra` code as a batch's lean requests. `numberOfKeys` 1.
 */
export const GCRA_LUA = `${CLOCK}${GCRA_FN}
local out = {}
gcra(out, KEYS[1], ARGV[1], tonumber(ARGV[2]), clock(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7])
return out
`;

/**
 * A lone generic call (consume | peek | lease | refund on any policy set), run directly (no loop
 * or pcall: an error rejects the call, as it should).
 */
export const LIMIT_LUA = `${CLOCK}${GENERIC_FNS}
local list = {}
for b = 3, #ARGV - 1, 5 do
  list[#list + 1] = { tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), ARGV[b + 5] }
end
local mode, cost = ARGV[1], tonumber(ARGV[2])
now = clock(ARGV[3])
local out = {}
if mode == 'refund' then refund_req(out, mode, cost, list) else limit_req(out, mode, cost, list) end
return out
`;

/**
 * Any requests, lean GCRA and generic, in the batch encoding: every coalesced batch. Each request
 * runs the same code as it would alone (\`gcra\`, \`limit_req\`, \`refund_req\`), in order.
 */
export const BATCH_LUA = CLOCK + POLICIES + GCRA_FN + GENERIC_FNS + RUN_LOOP;
