-- wrk script: POST a job with a distinct startup name per request.
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/jobs", {["Content-Type"] = "application/json"},
    '{"startup": "Bench-' .. n .. '"}')
end

done = function(summary, latency, requests)
  -- Parsed by ops/bench/submit-throughput.
  io.write(string.format("RESULT requests=%d non2xx=%d errors=%d duration_s=%.2f rps=%.1f p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
