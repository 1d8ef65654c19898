-- What one provider's cluster-wide budget holds now, for the operators' overview. Reads only.
--
-- KEYS: 1 cooldown (until, epoch ms), then log, amounts and sum of: 2..4 requests, 5..7 tokens,
--       8..10 input tokens, 11..13 output tokens (as reserve.lua names them)
-- ARGV: 1 window ms
-- Returns {cooldown until (epoch ms, 0: none), requests, tokens, input tokens, output tokens}:
-- what the current window holds of each (0 where nothing is counted).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])

local cooldown = tonumber(redis.call('GET', KEYS[1]) or '0')
if cooldown <= now then cooldown = 0 end

-- The sum less the entries that left the window but are still logged (reserve.lua drops them at
-- the next call): no scan of the window itself, only of what is about to be dropped.
local function inWindow(log, amounts, sum)
  local total = tonumber(redis.call('GET', sum) or '0')
  local from = 0
  while true do
    local old = redis.call('ZRANGEBYSCORE', log, '-inf', now - window, 'LIMIT', from, 500)
    if #old == 0 then break end
    for _, a in ipairs(redis.call('HMGET', amounts, unpack(old))) do
      total = total - (tonumber(a) or 0)
    end
    from = from + 500
  end
  return math.max(0, total)
end

return {
  cooldown,
  inWindow(KEYS[2], KEYS[3], KEYS[4]),
  inWindow(KEYS[5], KEYS[6], KEYS[7]),
  inWindow(KEYS[8], KEYS[9], KEYS[10]),
  inWindow(KEYS[11], KEYS[12], KEYS[13]),
}
