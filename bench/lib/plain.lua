-- GET scenarios (hello, counter, counter-new, page): the URL and headers come
-- from the wrk command line; this only adds the report.
dofile(os.getenv("BENCH_LIB") .. "/report.lua")
