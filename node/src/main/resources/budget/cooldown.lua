-- The provider said "too many": every node pauses its calls until the cooldown ends. A longer
-- pause extends it; a shorter one leaves it as it is.
--
-- KEYS: 1 cooldown (until, epoch ms)
-- ARGV: 1 pause ms
-- Returns {1 if no cooldown was running (a new one began), ms until it ends}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local untilMs = now + pause
if untilMs > current then
  redis.call('SET', KEYS[1], tostring(untilMs), 'PX', pause + 1000)
end
local began = 0
if current <= now then began = 1 end
return {began, math.max(untilMs, current) - now}
