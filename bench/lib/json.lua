-- json scenario: POST the ~1 KB body of bench/lib/body.json.
dofile(os.getenv("BENCH_LIB") .. "/report.lua")
local file = assert(io.open(os.getenv("BENCH_LIB") .. "/body.json", "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
