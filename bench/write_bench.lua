-- wrk script for bench/write_bench.sh: posts pre-generated line-protocol
-- bodies (files DIR/00000.lp, DIR/00001.lp, ...), each body exactly once
-- across all threads, then ends the run. Use one connection per thread:
--   wrk -t N -c N -d 3600s --timeout 60s --latency -s write_bench.lua URL \
--       -- DIR BODIES LINES_PER_BODY PATH N MARKS
-- PATH is the write target with its query string, e.g. /write?db=bench;
-- MARKS an empty directory for the threads' completion marks.
--
-- Thread k posts bodies k, k+N, k+2N, ...; a body is read (from the page
-- cache) when it is sent, so the client stays small whatever the corpus.
-- wrk itself only ends after -d, so the last thread to finish sends the
-- process SIGINT, which ends the run at once. Throughput is computed from
-- the first request sent to the last response received (CLOCK_MONOTONIC).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *tp);
int getpid(void);
int kill(int pid, int sig);
]]

local function now_s()
   local ts = ffi.new("bench_timespec")
   ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
   return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

function init(args)
   dir = args[1]
   bodies = tonumber(args[2])
   lines = tonumber(args[3])
   path = args[4]
   stride = tonumber(args[5])
   marks = args[6]
   index = id
   failed = 0
   received = 0
   first_sent = 0
   last_received = 0
end

function request()
   if id == 0 and not verified then
      -- wrk calls thread 0's request() once before the run to check the
      -- request it builds (script_verify_request); that call sends nothing.
      verified = true
      return wrk.format("GET", "/ping")
   end
   if index >= bodies then
      -- Only reached while the run is ending; never completes.
      return wrk.format("GET", "/ping")
   end
   if first_sent == 0 then
      first_sent = now_s()
   end
   local f = assert(io.open(string.format("%s/%05d.lp", dir, index), "rb"))
   local body = f:read("*a")
   f:close()
   index = index + stride
   return wrk.format("POST", path, {["Content-Type"] = "text/plain; charset=utf-8"}, body)
end

local function all_marked()
   for k = 0, stride - 1 do
      local f = io.open(string.format("%s/%d", marks, k), "r")
      if not f then
         return false
      end
      f:close()
   end
   return true
end

function response(status, headers, body)
   received = received + 1
   if status ~= 204 then
      failed = failed + 1
      if failed <= 3 then
         io.stderr:write(string.format("thread %d: HTTP %d %s\n", id, status, body))
      end
   end
   if index >= bodies then
      last_received = now_s()
      wrk.thread:stop()
      assert(io.open(string.format("%s/%d", marks, id), "w")):close()
      if all_marked() then
         ffi.C.kill(ffi.C.getpid(), 2) -- SIGINT: wrk prints its summary now
      end
   end
end

function done(summary, latency, requests)
   local posted, bad, lines, t0, t1 = 0, 0, 0, math.huge, 0
   for _, t in ipairs(threads) do
      posted = posted + t:get("received")
      bad = bad + t:get("failed")
      lines = t:get("lines")
      t0 = math.min(t0, t:get("first_sent"))
      t1 = math.max(t1, t:get("last_received"))
   end
   local secs = t1 - t0
   local points = (posted - bad) * lines
   -- One machine-readable line for the driver script.
   io.write(string.format(
      "RESULT requests=%d non204=%d seconds=%.3f points=%d points_per_s=%.0f "
      .. "p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f "
      .. "errors_connect=%d errors_read=%d errors_write=%d errors_timeout=%d\n",
      posted, bad, secs, points, points / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      latency:percentile(99.9) / 1000, latency.max / 1000,
      summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.timeout))
end
