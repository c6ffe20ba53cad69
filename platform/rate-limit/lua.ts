import type { Algorithm } from './policy.js';

/** The algorithm's number in the script's arguments. */
export const ALGORITHM_CODE: Record<Algorithm, number> = {
  token_bucket: 1,
  leaky_bucket: 2,
  gcra: 3,
  fixed_window: 4,
  sliding_window: 5,
};

/** Arguments per policy after ARGV[1] (now) and ARGV[2] (policy count). */
export const ARGS_PER_POLICY = 6;

/**
 * Every policy of one request, decided in one atomic script (one round trip): each policy's
 * algorithm computes its verdict without writing; only when every policy allows is each
 * consumed (written, PEXPIREd). A refused request therefore costs no policy anything.
 *
 *   KEYS[i]   the bucket of policy i
 *   ARGV[1]   now, integer ms from the caller's clock (see limiter.ts for why not Redis TIME)
 *   ARGV[2]   n, the number of policies
 *   then per policy: algorithm code, rate, period ms, burst, cost, peek (1: check, never consume)
 *
 * Reply: { all allowed (1/0), then per policy: allowed, remaining, reset ms, retry ms }, where
 * remaining and reset describe the bucket after this request (before it, when nothing was
 * consumed), reset = ms until the whole quota is back, retry = ms until `cost` would be allowed.
 *
 * Integer arithmetic only: a token is `period` units and `rate` units come back per ms, so no
 * fraction ever accumulates (doubles are exact below 2^53; policies are bounded far below).
 */
export const RATE_LIMIT_LUA = `
local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])

-- Token bucket: level (units) refills at rate per ms up to burst * period.
local function token_bucket(key, rate, period, burst, cost)
  local cap, need = burst * period, cost * period
  local state = redis.call('HMGET', key, 'level', 'ts')
  local level, ts = cap, now
  if state[1] then
    level, ts = tonumber(state[1]), tonumber(state[2])
    if now > ts then level, ts = math.min(cap, level + (now - ts) * rate), now end
  end
  local v = { ok = level >= need, remaining = math.floor(level / period), reset = math.ceil((cap - level) / rate), retry = 0 }
  if not v.ok then v.retry = math.ceil((need - level) / rate) return v end
  local after = level - need
  v.remaining_after, v.reset_after = math.floor(after / period), math.ceil((cap - after) / rate)
  v.commit = function()
    redis.call('HSET', key, 'level', after, 'ts', ts)
    redis.call('PEXPIRE', key, v.reset_after)
  end
  return v
end

-- Leaky bucket as a meter: each request pours period units in, rate units leak out per ms,
-- the bucket holds burst * period. With burst 1, requests are spaced period / rate ms apart.
local function leaky_bucket(key, rate, period, burst, cost)
  local cap, need = burst * period, cost * period
  local state = redis.call('HMGET', key, 'water', 'ts')
  local water, ts = 0, now
  if state[1] then
    water, ts = tonumber(state[1]), tonumber(state[2])
    if now > ts then water, ts = math.max(0, water - (now - ts) * rate), now end
  end
  local after = water + need
  local v = { ok = after <= cap, remaining = math.floor((cap - water) / period), reset = math.ceil(water / rate), retry = 0 }
  if not v.ok then v.retry = math.ceil((after - cap) / rate) return v end
  v.remaining_after, v.reset_after = math.floor((cap - after) / period), math.ceil(after / rate)
  v.commit = function()
    redis.call('HSET', key, 'water', after, 'ts', ts)
    redis.call('PEXPIRE', key, v.reset_after)
  end
  return v
end

-- GCRA: one theoretical arrival time TAT = tat + f / rate ms (kept as two integers); each
-- request moves it by the emission interval period / rate; allowed while TAT - now <= burst
-- intervals. Differences are counted in 1/rate ms, so an interval is period units.
local function gcra(key, rate, period, burst, cost)
  local state = redis.call('HMGET', key, 'tat', 'f')
  local tat, f = now, 0
  if state[1] then tat, f = tonumber(state[1]), tonumber(state[2]) end
  if tat < now then tat, f = now, 0 end
  local limit = burst * period
  local debt = (tat - now) * rate + f
  local after = debt + cost * period
  local v = { ok = after <= limit, remaining = math.floor((limit - debt) / period), reset = math.ceil(debt / rate), retry = 0 }
  if not v.ok then v.retry = math.ceil((after - limit) / rate) return v end
  local f2 = f + cost * period
  local tat2 = tat + math.floor(f2 / rate)
  f2 = f2 % rate
  v.remaining_after, v.reset_after = math.floor((limit - after) / period), math.ceil(after / rate)
  v.commit = function()
    redis.call('HSET', key, 'tat', tat2, 'f', f2)
    redis.call('PEXPIRE', key, v.reset_after)
  end
  return v
end

-- Fixed window: a counter per window aligned to the epoch (allows 2x at a boundary, by design).
local function fixed_window(key, limit, window, _, cost)
  local w, count = math.floor(now / window), 0
  local state = redis.call('HMGET', key, 'w', 'n')
  if state[1] and tonumber(state[1]) >= w then w, count = tonumber(state[1]), tonumber(state[2]) end
  local reset = (w + 1) * window - now
  local v = { ok = count + cost <= limit, remaining = limit - count, reset = (count > 0) and reset or 0, retry = 0 }
  if not v.ok then v.retry = reset return v end
  v.remaining_after, v.reset_after = limit - count - cost, reset
  v.commit = function()
    redis.call('HSET', key, 'w', w, 'n', count + cost)
    redis.call('PEXPIRE', key, reset)
  end
  return v
end

-- Sliding window log: the times of the requests of the last window, oldest first (a list of at
-- most limit entries); exact: never more than limit requests in any window-long interval.
local function sliding_window(key, limit, window, _, cost)
  while true do
    local oldest = redis.call('LINDEX', key, 0)
    if not oldest or tonumber(oldest) > now - window then break end
    redis.call('LPOP', key)
  end
  local count = redis.call('LLEN', key)
  local newest = (count > 0) and tonumber(redis.call('LINDEX', key, -1)) or nil
  local v = { ok = count + cost <= limit, remaining = limit - count, reset = newest and (newest + window - now) or 0, retry = 0 }
  if not v.ok then
    v.retry = tonumber(redis.call('LINDEX', key, count + cost - limit - 1)) + window - now
    return v
  end
  -- A caller whose clock is behind appends its time no earlier than the newest: the list stays sorted.
  local stamp = newest and math.max(newest, now) or now
  v.remaining_after, v.reset_after = limit - count - cost, stamp + window - now
  v.commit = function()
    local stamps = {}
    for i = 1, cost do stamps[i] = stamp end
    redis.call('RPUSH', key, unpack(stamps))
    redis.call('PEXPIRE', key, v.reset_after)
  end
  return v
end

local algorithms = { token_bucket, leaky_bucket, gcra, fixed_window, sliding_window }
local verdicts, all_ok = {}, true
for i = 1, n do
  local a = 2 + (i - 1) * ${ARGS_PER_POLICY}
  local algorithm = algorithms[tonumber(ARGV[a + 1])]
  if not algorithm then return redis.error_reply('unknown rate-limit algorithm ' .. ARGV[a + 1]) end
  local v = algorithm(KEYS[i], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5]))
  v.peek = ARGV[a + 6] == '1'
  if not v.ok then all_ok = false end
  verdicts[i] = v
end

local reply = { all_ok and 1 or 0 }
for i = 1, n do
  local v = verdicts[i]
  local consume = all_ok and not v.peek
  if consume then v.commit() end
  reply[#reply + 1] = v.ok and 1 or 0
  reply[#reply + 1] = consume and v.remaining_after or v.remaining
  reply[#reply + 1] = consume and v.reset_after or v.reset
  reply[#reply + 1] = v.retry
end
return reply
`;
