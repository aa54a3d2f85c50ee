# make asan-test    - the tests under AddressSanitizer and UBSan:
#   asan-unit         the Check unit tests (UNIT_TESTS) rebuilt with
#                     -fsanitize=address,undefined into build/asan/, run with
#                     CK_FORK=no (one process, so ASan sees every test)
#   asan-integration  mod_statsd.so rebuilt with ASan + UBSan by apxs in a
#                     copy under build/asan/ (build/asan/.libs/mod_statsd.so;
#                     the normal .libs/ is left alone), and t/integration run
#                     against it with apache2 started through the wrapper
#                     build/asan/apache2-asan, which preloads libasan into
#                     apache2 only (pytest itself runs unsanitised). Every
#                     sanitizer report, from the parent or from the children
#                     (User www-data), goes to build/asan/logs/ (mode 1777);
#                     the target fails if the suite fails or if any report is
#                     there.
# Harness overrides (t/lib/statsdtest/paths.py): STATSD_MODULE_SO = module
# path, APACHE2 = the apache2 binary to run; apache2 gets pytest's
# environment, so the wrapper's settings reach the children.
#
#   make asan-unit | asan-integration | asan-test
#   make asan-integration ASAN_PYTEST_ARGS='-k names -x'

ASAN_OUT = build/asan
ASAN_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
           -fno-omit-frame-pointer
ASAN_UNIT = $(addprefix $(ASAN_OUT)/,$(notdir $(UNIT_TESTS)))
ASAN_MODULE = $(ASAN_OUT)/.libs/mod_statsd.so
ASAN_HTTPD = $(ASAN_OUT)/apache2-asan
ASAN_LOGS = $(ASAN_OUT)/logs
ASAN_APACHE2 ?= /usr/sbin/apache2
ASAN_PYTEST_ARGS ?=
# Leak checking is off for apache2: httpd allocates from its own pools
# (APR allocators) and exits, in the parent and in every child, without
# handing all of that memory back, by design; LeakSanitizer would report
# httpd's and APR's memory at each exit, not the module's. Overflows,
# use-after-free and the like are still reported. The unit tests are
# plain programs and do run with leak checking.
ASAN_HTTPD_OPTIONS = detect_leaks=0:halt_on_error=1:abort_on_error=0:disable_coredump=1
ASAN_UNIT_OPTIONS = detect_leaks=1:halt_on_error=1:abort_on_error=1:disable_coredump=1
ASAN_UBSAN_OPTIONS = print_stacktrace=1:halt_on_error=1

.PHONY: asan-test asan-unit asan-integration asan-module

$(ASAN_OUT)/test_%: t/unit/test_%.c t/unit/unit_util.h $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(ASAN_OUT)
	$(CC) $(UNIT_CFLAGS) $(ASAN_SAN) -o $@ $< $(CORE_SRC) \
	    $$(pkg-config --cflags --libs check) -lpthread

asan-unit:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory $(ASAN_UNIT)
	@set -e; for t in $(ASAN_UNIT); do \
	    echo "== $$t (ASan/UBSan, CK_FORK=no)"; \
	    CK_FORK=no ASAN_OPTIONS=$(ASAN_UNIT_OPTIONS) \
	    UBSAN_OPTIONS=$(ASAN_UBSAN_OPTIONS) ./$$t; \
	done

# apxs compiles and links in the copy, as `make` does (APXS_COMPILE) plus
# the sanitizers: -Wc/-Wl split on commas, so each sanitizer is its own
# flag. The module must come out instrumented.
$(ASAN_MODULE): $(GLUE_SRC) $(GLUE_HDR) $(CORE_SRC) $(CORE_HDR)
	@command -v $(APXS) >/dev/null 2>&1 || scripts/deps.sh build
	@mkdir -p $(ASAN_OUT)
	cp -f $(GLUE_SRC) $(GLUE_HDR) $(CORE_SRC) $(CORE_HDR) $(ASAN_OUT)/
	cd $(ASAN_OUT) || exit 1; $(APXS_COMPILE) \
	    -Wc,-fsanitize=address -Wc,-fsanitize=undefined \
	    -Wc,-fno-sanitize-recover=undefined -Wc,-fno-omit-frame-pointer \
	    -Wl,-fsanitize=address -Wl,-fsanitize=undefined \
	    -o mod_statsd.so $(GLUE_SRC) $(CORE_SRC)
	@nm -D $@ | grep -q ' U __asan_report' \
	    || { echo "asan: $@ is not instrumented (sanitizer flags lost)"; rm -f $@; exit 1; }

asan-module: $(ASAN_MODULE)

asan-integration:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory $(ASAN_MODULE)
	@rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS) && chmod 1777 $(ASAN_LOGS)
	@lib="$$($(CC) -print-file-name=libasan.so)"; \
	case "$$lib" in /*) ;; *) echo "asan: no libasan.so for $(CC)"; exit 1;; esac; \
	{ echo '#!/bin/sh'; \
	  echo '# apache2 with AddressSanitizer preloaded (made by mk/asan.mk)'; \
	  echo "LD_PRELOAD=\"$$lib\$${LD_PRELOAD:+:\$$LD_PRELOAD}\""; \
	  echo "ASAN_OPTIONS='log_path=$(abspath $(ASAN_LOGS))/asan:$(ASAN_HTTPD_OPTIONS)'"; \
	  echo "UBSAN_OPTIONS='log_path=$(abspath $(ASAN_LOGS))/ubsan:$(ASAN_UBSAN_OPTIONS)'"; \
	  echo 'export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS'; \
	  echo 'exec $(ASAN_APACHE2) "$$@"'; \
	} > $(ASAN_HTTPD) && chmod 755 $(ASAN_HTTPD)
	@echo "== t/integration against $(ASAN_MODULE) (apache2 via $(ASAN_HTTPD))"
	@STATSD_MODULE_SO=$(abspath $(ASAN_MODULE)) APACHE2=$(abspath $(ASAN_HTTPD)) \
	$(PYTHON) -m pytest -q t/integration $(ASAN_PYTEST_ARGS); rc=$$?; \
	reports=$$(grep -l -E 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
	           $(ASAN_LOGS)/* 2>/dev/null); \
	echo "== sanitizer logs: $$(ls $(ASAN_LOGS) | wc -l) file(s) in $(ASAN_LOGS)," \
	     "$$(echo $$reports | wc -w) with a report"; \
	for f in $$reports; do echo "---- $$f"; head -60 $$f; done; \
	[ -z "$$reports" ] || exit 1; \
	exit $$rc

asan-test:
	@$(MAKE) --no-print-directory asan-unit
	@$(MAKE) --no-print-directory asan-integration
