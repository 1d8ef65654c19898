-- wrk script: POST a job with a distinct startup name per request.
-- An optional argument after wrk's "--" is the path: /api/v1/jobs (default) or /generate (the
-- seed API, which the old Flask stack also serves).
local n = 0
local path = "/api/v1/jobs"

init = function(args)
  if args[1] then path = args[1] end
end

request = function()
  n = n + 1
  return wrk.format("POST", path, {["Content-Type"] = "application/json"},
    '{"startup": "Bench-' .. n .. '"}')
end

done = function(summary, latency, requests)
  -- Parsed by ops/bench/submit-throughput.
  io.write(string.format("RESULT requests=%d non2xx=%d errors=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
