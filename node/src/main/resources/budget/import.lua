-- Redis is back after an outage: a node hands over what it spent on its own share meanwhile,
-- so that the shared budget counts it for the rest of its window. Ages, not times: the node's
-- clock need not agree with the server's.
--
-- KEYS: as settle.lua (tokens, input, output: log, amounts, sum; in flight), then 11..13 the
--       requests' log, amounts, sum
-- ARGV: 1 window ms, then for each of tokens, input, output, requests: a count n and n triples
--       (call id, age ms, amount); then a count m and m pairs (call id, lease left ms)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local i = 2
local dims = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}, {11, 12, 13}}
for _, k in ipairs(dims) do
  local log, amounts, sum = KEYS[k[1]], KEYS[k[2]], KEYS[k[3]]
  local n = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, n do
    local id, age, amount = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
    i = i + 3
    if age < window and not redis.call('HGET', amounts, id) then
      redis.call('ZADD', log, now - age, id)
      redis.call('HSET', amounts, id, amount)
      redis.call('INCRBY', sum, amount)
    end
  end
  if n > 0 then
    for _, key in ipairs({log, amounts, sum}) do redis.call('PEXPIRE', key, 2 * window) end
  end
end
local m = tonumber(ARGV[i])
i = i + 1
for _ = 1, m do
  local id, left = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  if left > 0 then
    redis.call('ZADD', KEYS[10], now + left, id)
    redis.call('PEXPIRE', KEYS[10], math.max(2 * left, 1000))
  end
end
return 1
