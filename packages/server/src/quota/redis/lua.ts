/**
 * Lua of the Redis quota counters. A counter is a hash `{hi, lo}`: usage ×10^12 split into whole
 * units (`hi`) and the fraction (`lo`, 0 ≤ lo < 10^12), because Lua numbers are doubles and a
 * scaled usage passes 2^53 at 9,007 units; each half stays far below it. All numbers are written
 * with %.0f (Lua's tostring switches to exponent notation past 14 digits).
 *
 * `now` is the injected (test) time in ms, or '' for Redis server `TIME`: the server's clock
 * decides whether an item's next period has begun, so nodes with skewed clocks agree.
 */
const PRELUDE = `
local S = 1000000000000
local function num(v) return tonumber(v or '0') end
local function get(k) local v = redis.call('HMGET', k, 'hi', 'lo') return num(v[1]), num(v[2]) end
local function norm(hi, lo)
  while lo >= S do lo = lo - S hi = hi + 1 end
  while lo < 0 do lo = lo + S hi = hi - 1 end
  return hi, lo
end
local function put(k, hi, lo, ttl)
  redis.call('HSET', k, 'hi', string.format('%.0f', hi), 'lo', string.format('%.0f', lo))
  redis.call('PEXPIRE', k, ttl)
end
local function le(ah, al, bh, bl) return ah < bh or (ah == bh and al <= bl) end
local function fmt(v) return string.format('%.0f', v) end
local function server_now(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * Check and record several items, all or nothing. KEYS: per item its current-period key and its
 * next-period key. ARGV[1] now (ms or ''), ARGV[2] ttl ms, then per item: next-period start (ms,
 * '' = none), limit hi, limit lo, amount hi, amount lo, hard (1/0). Reply: recorded (1/0), then per
 * item: 0 (current) or 1 (next period), usage hi, usage lo.
 */
export const CONSUME_LUA = `${PRELUDE}
local now = server_now(ARGV[1])
local ttl = ARGV[2]
local n = #KEYS / 2
local keys, hs, ls, ah, al, nexts = {}, {}, {}, {}, {}, {}
local ok = true
for i = 1, n do
  local b = 3 + (i - 1) * 6
  local at = ARGV[b]
  local which = 0
  if at ~= '' and now >= tonumber(at) then which = 1 end
  nexts[i] = which
  keys[i] = KEYS[(i - 1) * 2 + 1 + which]
  hs[i], ls[i] = get(keys[i])
  ah[i], al[i] = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  if ARGV[b + 5] == '1' then
    local sh, sl = norm(hs[i] + ah[i], ls[i] + al[i])
    if not le(sh, sl, tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])) then ok = false end
  end
end
local out = { ok and 1 or 0 }
for i = 1, n do
  local h, l = hs[i], ls[i]
  if ok then
    h, l = norm(h + ah[i], l + al[i])
    put(keys[i], h, l, ttl)
  end
  out[#out + 1] = nexts[i]
  out[#out + 1] = fmt(h)
  out[#out + 1] = fmt(l)
end
return out`;

/**
 * Adds signed deltas (a zero delta only reads). KEYS: counters; ARGV[1] ttl ms, then per key:
 * delta hi, delta lo (lo ≥ 0). Reply per key: usage hi, usage lo after the add.
 */
export const ADD_LUA = `${PRELUDE}
local out = {}
for i = 1, #KEYS do
  local h, l = get(KEYS[i])
  local dh, dl = tonumber(ARGV[i * 2]), tonumber(ARGV[i * 2 + 1])
  if dh ~= 0 or dl ~= 0 then
    h, l = norm(h + dh, l + dl)
    put(KEYS[i], h, l, ARGV[1])
  end
  out[#out + 1] = fmt(h)
  out[#out + 1] = fmt(l)
end
return out`;

/** Replaces a counter, or with ARGV[4] = 'max' raises it to at least the value. KEYS[1]; ARGV: hi, lo, ttl ms, mode. */
export const SET_LUA = `${PRELUDE}
local h, l = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[4] == 'max' then
  local ch, cl = get(KEYS[1])
  if le(h, l, ch, cl) then return 0 end
end
put(KEYS[1], h, l, ARGV[3])
return 1`;

/**
 * Leases allowance for hard items: per item, grants min(want, limit − usage) (never below 0) and
 * counts the grant as used at once, so the leases of every node together never exceed the limit.
 * KEYS: counters; ARGV[1] ttl ms, then per key: limit hi, limit lo, want hi, want lo. Reply per
 * key: granted hi, granted lo, usage hi, usage lo (after the grant).
 */
export const LEASE_LUA = `${PRELUDE}
local out = {}
for i = 1, #KEYS do
  local b = 2 + (i - 1) * 4
  local h, l = get(KEYS[i])
  local rh, rl = norm(tonumber(ARGV[b]) - h, tonumber(ARGV[b + 1]) - l)
  local wh, wl = tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  if rh < 0 then rh, rl = 0, 0 end
  local gh, gl = wh, wl
  if le(rh, rl, wh, wl) then gh, gl = rh, rl end
  h, l = norm(h + gh, l + gl)
  if gh > 0 or gl > 0 then put(KEYS[i], h, l, ARGV[1]) end
  out[#out + 1] = fmt(gh)
  out[#out + 1] = fmt(gl)
  out[#out + 1] = fmt(h)
  out[#out + 1] = fmt(l)
end
return out`;
