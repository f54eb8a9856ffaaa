-- Session-memory measurement (counter without a cookie): each wrk thread stops
-- after BENCH_STOP_PER_THREAD responses, so the run creates about the number
-- of sessions asked for.  wrk's main thread still sleeps for -d; bench/run
-- wakes it with SIGINT once the server's session count has been reached.
dofile(os.getenv("BENCH_LIB") .. "/report.lua")
local limit = tonumber(os.getenv("BENCH_STOP_PER_THREAD") or "0")
local seen = 0
function response(status, headers, body)
  seen = seen + 1
  if limit > 0 and seen == limit then
    wrk.thread:stop()
  end
end
