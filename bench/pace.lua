-- wrk script for the paced (~10k requests/s) loss run of `make bench`:
-- each connection waits BENCH_DELAY_MS after every response, so the rate
-- is about connections / (delay + latency). wrk2 is not in Debian.
local d = tonumber(os.getenv("BENCH_DELAY_MS") or "2")

function delay()
   return d
end
