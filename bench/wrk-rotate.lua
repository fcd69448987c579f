-- wrk script for bench/load-child.ts: rotates over the paths given after `--`, sends the
-- Accept header from BENCH_ACCEPT when set, and prints one JSON line when done.
local paths = {}
local accept = os.getenv("BENCH_ACCEPT")
local counter = 0

function init(args)
  for i, p in ipairs(args) do paths[i] = p end
end

function request()
  counter = counter % #paths + 1
  local headers = {}
  if accept ~= nil and accept ~= "" then headers["Accept"] = accept end
  return wrk.format("GET", paths[counter], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  local n = summary.requests
  io.write(string.format('{"rps":%.1f,"p99":%.1f,"errors":%d,"bytesPerRequest":%d}\n',
    n / seconds, latency:percentile(99) / 1000, e.connect + e.read + e.write + e.status + e.timeout,
    n > 0 and math.floor(summary.bytes / n) or 0))
end
