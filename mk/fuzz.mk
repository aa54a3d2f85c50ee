# make fuzz        - libFuzzer run of fuzz/fuzz_names.c: the request chain
#                    of log_transaction (name choice, key, lines, note) plus
#                    the client/batch splitting and the target parser, built
#                    with clang -fsanitize=fuzzer,address,undefined. Runs
#                    FUZZ_SECONDS on build/fuzz/corpus (seeded from
#                    fuzz/corpus, which is never written to), prints the
#                    summary, exits non-zero on a crash (the input is left
#                    in build/fuzz/artifacts/).
# make fuzz-check  - regression: fuzz/standalone.c + fuzz_names.c built with
#                    gcc and AddressSanitizer/UBSan (no libFuzzer), run over
#                    every seed in fuzz/corpus (and fuzz/regress, if any).
#
#   make fuzz FUZZ_SECONDS=600          a longer run
#   make fuzz FUZZ_ARGS='-jobs=4 -workers=4'   any libFuzzer flags
#   build/fuzz/fuzz_names build/fuzz/artifacts/crash-...    replay a crash
#   /usr/bin/python3 fuzz/gen_corpus.py     rewrite the seeds

FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 70000
FUZZ_ARGS ?=
FUZZ_CLANG ?= clang
FUZZ_GCC ?= gcc
FUZZ_OUT = build/fuzz
FUZZ_SRC = fuzz/fuzz_names.c fuzz/fuzz_flush.c
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
           -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=gnu99 -g -O1 $(WARN) -I.
FUZZ_CHECK_DIRS = fuzz/corpus $(wildcard fuzz/regress)

.PHONY: fuzz fuzz-check fuzz-deps

# deps.sh fuzz installs clang and libfuzzer-14-dev; clang's own
# -fsanitize=fuzzer runtime is in libclang-rt-14-dev, checked here too.
fuzz-deps:
	@scripts/deps.sh fuzz
	@rt="$$($(FUZZ_CLANG) -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a"; \
	if [ ! -e "$$rt" ]; then \
	    echo "installing: libclang-rt-14-dev ($$rt is missing)"; \
	    SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	        --no-install-recommends libclang-rt-14-dev >/dev/null; \
	fi

$(FUZZ_OUT)/fuzz_names: $(FUZZ_SRC) fuzz/fuzz_flush.h $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(FUZZ_OUT)
	$(FUZZ_CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ \
	    $(FUZZ_SRC) $(CORE_SRC) -lpthread

$(FUZZ_OUT)/standalone: fuzz/standalone.c $(FUZZ_SRC) fuzz/fuzz_flush.h $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(FUZZ_OUT)
	$(FUZZ_GCC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fno-sanitize-recover=all -o $@ \
	    fuzz/standalone.c $(FUZZ_SRC) $(CORE_SRC) -lpthread

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_OUT)/fuzz_names
	@mkdir -p $(FUZZ_OUT)/corpus $(FUZZ_OUT)/artifacts
	@cp fuzz/corpus/* $(FUZZ_OUT)/corpus/
	@echo "== fuzz_names: $(FUZZ_SECONDS)s, max_len $(FUZZ_MAX_LEN), log in $(FUZZ_OUT)/fuzz.log"
	@UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(FUZZ_OUT)/fuzz_names -max_len=$(FUZZ_MAX_LEN) \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2560 \
	    -print_final_stats=1 -dict=fuzz/names.dict \
	    -artifact_prefix=$(FUZZ_OUT)/artifacts/ $(FUZZ_ARGS) \
	    $(FUZZ_OUT)/corpus >$(FUZZ_OUT)/fuzz.log 2>&1; \
	rc=$$?; \
	grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^Done |^stat::' $(FUZZ_OUT)/fuzz.log; \
	echo "corpus: $$(ls $(FUZZ_OUT)/corpus | wc -l) inputs in $(FUZZ_OUT)/corpus"; \
	if [ $$rc -ne 0 ]; then \
	    echo "== fuzz_names FAILED (exit $$rc); the report:"; \
	    grep -E -A40 'check failed|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' \
	        $(FUZZ_OUT)/fuzz.log | grep -v -E '^    #[0-9]+ 0x[0-9a-f]+ in fuzzer::|^stat::|^artifact_prefix|^Base64' \
	        | head -60; \
	    grep -E 'Test unit written to|^Base64:' $(FUZZ_OUT)/fuzz.log; \
	    echo "replay: $(FUZZ_OUT)/fuzz_names <that file>;" \
	         "minimise: $(FUZZ_OUT)/fuzz_names -minimize_crash=1 -runs=20000 <that file>"; \
	fi; \
	exit $$rc

fuzz-check:
	@$(MAKE) --no-print-directory $(FUZZ_OUT)/standalone
	@echo "== fuzz-check: seeds of $(FUZZ_CHECK_DIRS) under gcc ASan/UBSan"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:disable_coredump=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	$(FUZZ_OUT)/standalone $(FUZZ_CHECK_DIRS) 2>$(FUZZ_OUT)/fuzz-check.log; \
	rc=$$?; \
	if [ $$rc -ne 0 ]; then grep -v '^standalone: fuzz/' $(FUZZ_OUT)/fuzz-check.log | head -80; fi; \
	exit $$rc
