-- wrk script of the proxy benchmark (test/bench/proxy/run.ts).
--
-- VIREO_BENCH_RATE > 0: constant rate. Each time a connection is free, delay() hands it the next
-- slot of one schedule, 1000/rate ms apart, so requests start at a fixed rate whatever the latency
-- (wrk2's model; Debian has only wrk). Latency is timed from the write, not from the slot: with
-- enough connections and sub-millisecond responses a request never waits for a connection. A
-- schedule more than a second behind restarts from now rather than bursting to catch up; run.ts
-- reports the rate reached. Unset or 0: no delay, as fast as the connections go (saturation).
--
-- done() prints one line, "VIREO_BENCH " and JSON, that run.ts reads; latencies in microseconds.

local rate = tonumber(os.getenv("VIREO_BENCH_RATE") or "0") or 0

if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef([[
    typedef struct { long tv_sec; long tv_nsec; } vireo_bench_timespec;
    int clock_gettime(int clock_id, vireo_bench_timespec *tp);
  ]])
  local CLOCK_MONOTONIC = 1
  local ts = ffi.new("vireo_bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  -- One schedule per wrk thread; run.ts runs one thread.
  local interval = 1000 / rate
  local slot = nil

  function delay()
    local now = now_ms()
    if slot == nil or slot < now - 1000 then
      slot = now
    end
    local wait = slot - now
    slot = slot + interval
    -- wrk's timers count whole milliseconds.
    if wait <= 0 then
      return 0
    end
    return math.floor(wait + 0.5)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'VIREO_BENCH {"requests":%d,"durationUs":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latencyUs":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
end
