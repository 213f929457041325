-- Shared by the scripts below (wrk loads one file; each dofile()s this one): the summary as one
-- JSON line, latency percentiles in microseconds. A script that keeps its threads (setup) in
-- the global `threads` has their `unexpected` and `dry` counts added up (lines.lua).
function done(summary, latency, requests)
  local e = summary.errors
  local unexpected, dry = 0, 0
  for _, thread in ipairs(threads or {}) do
    unexpected = unexpected + (thread:get("unexpected") or 0)
    dry = dry + (thread:get("dry") or 0)
  end
  io.write(string.format(
    'JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"mean_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"p999_us":%d,"max_us":%d,"unexpected":%d,"dry":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, unexpected, dry))
end
