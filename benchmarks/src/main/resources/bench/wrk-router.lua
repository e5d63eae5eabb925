-- wrk script of `strangler bench router`: a random X-User-Id per request (so a 50% route really splits),
-- an optional pause per connection between requests (WRK_DELAY_MS: a fixed offered rate), and one JSON
-- line with the figures at the end.
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")
math.randomseed(os.time())

request = function()
  return wrk.format("GET", "/api/orders/1", {["X-User-Id"] = tostring(math.random(1, 1000000))})
end

if delay_ms > 0 then
  delay = function() return delay_ms end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d,"socketErrors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
