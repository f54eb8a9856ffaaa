-- Session-memory measurement: each wrk thread stops after
-- BENCH_STOP_PER_THREAD responses, so a run creates a known number of
-- sessions (counter without a cookie) instead of running for a fixed time.
dofile(os.getenv("BENCH_LIB") .. "/report.lua")
local limit = tonumber(os.getenv("BENCH_STOP_PER_THREAD") or "0")
local seen = 0
function response(status, headers, body)
  seen = seen + 1
  if limit > 0 and seen >= limit then
    wrk.thread:stop()
  end
end
