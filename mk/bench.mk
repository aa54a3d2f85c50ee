# make bench - performance figures, with and without the module, in
# one run: name+format microbenchmark, cachegrind instructions/request of
# apache2 -X, datagrams/lines per request, paired wrk rounds. Prints a table
# and writes build/bench/results.txt (see bench/bench.py).
#   make bench                        the whole run (about 5 minutes)
#   BENCH_ARGS=--quick make bench     smaller counts, to try it out
#   BENCH_STRICT=1 make bench         exit 3 when a target is missed

BENCH_OUT = build/bench
BENCH_NAMES_SRC = bench/bench_names.c $(CORE_SRC)
# -O2 as apxs compiles the module (apxs -q CFLAGS: -pipe -g -O2 ...); the
# module is also linked with -flto, so these timings are if anything high
BENCH_CFLAGS = -std=gnu99 -pipe -g -O2 -fstack-protector-strong $(WARN) -I.

.PHONY: bench

$(BENCH_OUT)/bench_names: $(BENCH_NAMES_SRC) $(CORE_HDR) mk/bench.mk
	@mkdir -p $(BENCH_OUT)
	$(CC) $(BENCH_CFLAGS) -o $@ $(BENCH_NAMES_SRC) -pthread

bench:
	@scripts/deps.sh bench
	$(MAKE) all
	$(MAKE) $(BENCH_OUT)/bench_names
	$(PYTHON) bench/bench.py $(BENCH_ARGS)
