-- A call ended: its reserved tokens become what the provider counted, and its in-flight slot
-- is free. An entry already out of the window is left alone (it no longer counts anyway).
--
-- KEYS: as reserve.lua, 3..12 (tokens, input, output: log, amounts, sum; in flight)
-- ARGV: 1 call id, 2 tokens, 3 input tokens, 4 output tokens (-1: keep the reservation)
local id = ARGV[1]
local dims = {
  {KEYS[2], KEYS[3], tonumber(ARGV[2])},
  {KEYS[5], KEYS[6], tonumber(ARGV[3])},
  {KEYS[8], KEYS[9], tonumber(ARGV[4])},
}
for _, d in ipairs(dims) do
  if d[3] >= 0 then
    local old = redis.call('HGET', d[1], id)
    if old then
      redis.call('HSET', d[1], id, d[3])
      redis.call('INCRBY', d[2], d[3] - tonumber(old))
    end
  end
end
redis.call('ZREM', KEYS[10], id)
return 1
