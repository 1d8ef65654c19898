-- Takes a call's share of one provider's cluster-wide budget, or says how long to wait for it.
-- Atomic: every limit is checked first, and only a call that passes them all is charged.
-- Times come from the Redis server's clock, so the nodes' clocks need not agree.
--
-- KEYS: 1 cooldown (until, epoch ms), 2 requests (GCRA theoretical arrival time, ms),
--       3..5 tokens (log: zset call -> admitted at; amounts: hash call -> tokens; sum),
--       6..8 input tokens (same), 9..11 output tokens (same), 12 in flight (zset call -> lease end),
--       13..15 requests (log, amounts, sum: each request counts 1)
-- ARGV: 1 call id, 2 window ms, 3 requests per window (0: no limit, may be fractional),
--       4 burst (requests that may go together, >= 1), 5 tokens, 6 token limit, 7 input tokens,
--       8 input limit, 9 output tokens, 10 output limit, 11 most calls in flight, 12 lease ms,
--       13 most requests in any window (0: no limit)
-- Returns {1, "ok", 0, tokens used after} or {0, reason, wait ms, 0}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id = ARGV[1]
local window = tonumber(ARGV[2])

local cooldown = tonumber(redis.call('GET', KEYS[1]) or '0')
if cooldown > now then
  return {0, 'cooldown', cooldown - now, 0}
end

-- Requests: GCRA. One request per interval, up to burst at once: the burst lets a call that
-- comes a little late for its slot (timers, a busy node) catch up instead of losing it. The
-- window log below keeps any window within the limit whatever the burst.
local rate = tonumber(ARGV[3])
local interval = 0
local tat = now
if rate > 0 then
  interval = window / rate
  local tau = (tonumber(ARGV[4]) - 1) * interval
  tat = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), now)
  if tat - now > tau then
    return {0, 'requests', math.ceil(tat - tau - now), 0}
  end
end

-- Drops the entries that left the window; returns the tokens still in it.
local function evict(log, amounts, sum)
  while true do
    local old = redis.call('ZRANGEBYSCORE', log, '-inf', now - window, 'LIMIT', 0, 500)
    if #old == 0 then break end
    local freed = 0
    for _, a in ipairs(redis.call('HMGET', amounts, unpack(old))) do
      freed = freed + (tonumber(a) or 0)
    end
    redis.call('HDEL', amounts, unpack(old))
    redis.call('ZREM', log, unpack(old))
    redis.call('DECRBY', sum, freed)
  end
  return tonumber(redis.call('GET', sum) or '0')
end

-- When enough of the oldest entries leave the window for `need` more tokens to fit.
local function waitFor(log, amounts, need)
  local freed = 0
  local from = 0
  while true do
    local page = redis.call('ZRANGE', log, from, from + 499, 'WITHSCORES')
    if #page == 0 then return window end
    local ids = {}
    for i = 1, #page, 2 do ids[#ids + 1] = page[i] end
    local amts = redis.call('HMGET', amounts, unpack(ids))
    for i = 1, #ids do
      freed = freed + (tonumber(amts[i]) or 0)
      if freed >= need then
        return math.max(1, tonumber(page[2 * i]) + window - now + 1)
      end
    end
    from = from + 500
  end
end

local dims = {
  {KEYS[3], KEYS[4], KEYS[5], tonumber(ARGV[5]), tonumber(ARGV[6]), 'tokens'},
  {KEYS[6], KEYS[7], KEYS[8], tonumber(ARGV[7]), tonumber(ARGV[8]), 'input_tokens'},
  {KEYS[9], KEYS[10], KEYS[11], tonumber(ARGV[9]), tonumber(ARGV[10]), 'output_tokens'},
  {KEYS[13], KEYS[14], KEYS[15], 1, tonumber(ARGV[13]), 'requests'},
}
local used = 0
for i, d in ipairs(dims) do
  if d[5] > 0 then
    -- A call bigger than the whole budget goes alone, in an empty window, instead of never.
    d[4] = math.min(d[4], d[5])
    local inWindow = evict(d[1], d[2], d[3])
    if i == 1 then used = inWindow end
    if inWindow + d[4] > d[5] then
      return {0, d[6], waitFor(d[1], d[2], inWindow + d[4] - d[5]), 0}
    end
  end
end

local most = tonumber(ARGV[11])
local lease = tonumber(ARGV[12])
if most > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[12], '-inf', now)
  if redis.call('ZCARD', KEYS[12]) >= most then
    local first = redis.call('ZRANGE', KEYS[12], 0, 0, 'WITHSCORES')
    return {0, 'concurrency', math.max(1, tonumber(first[2]) - now), 0}
  end
end

-- Every limit passed: charge them all.
if rate > 0 then
  -- Written in full: tostring keeps 14 digits, a tenth of a ms at today's epoch ms, and the
  -- fraction it drops from every interval would add up to more requests than planned.
  redis.call('SET', KEYS[2], string.format('%.17g', tat + interval), 'PX',
    math.ceil(tat + interval - now + window))
end
for i, d in ipairs(dims) do
  if d[5] > 0 then
    redis.call('ZADD', d[1], now, id)
    redis.call('HSET', d[2], id, d[4])
    redis.call('INCRBY', d[3], d[4])
    for k = 1, 3 do redis.call('PEXPIRE', d[k], 2 * window) end
    if i == 1 then used = used + d[4] end
  end
end
if most > 0 then
  redis.call('ZADD', KEYS[12], now + lease, id)
  redis.call('PEXPIRE', KEYS[12], 2 * lease)
end
return {1, 'ok', 0, used}
