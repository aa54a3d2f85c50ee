# mod_statsd - build, test and demo.
#   make            build mod_statsd.so with apxs (-Wall -Wextra -Werror)
#   make test       install what is missing, then unit tests, the fuzz seeds
#                   under ASan, and the integration tests
#   make demo       throwaway httpd + statsd on loopback, traffic, results
#   make install    apxs -i (never edits httpd.conf); DESTDIR honoured
# ./configure --with-apxs=PATH writes config.mk to pick another httpd.

-include config.mk
APXS ?= $(shell command -v apxs 2>/dev/null || command -v apxs2 2>/dev/null || echo /usr/bin/apxs)
CC ?= gcc
PYTHON ?= /usr/bin/python3
WARN = -Wall -Wextra -Werror
comma := ,
CORE_SRC = statsd_bytes.c statsd_target.c statsd_client.c statsd_batch.c statsd_sum.c statsd_interval.c statsd_sample.c statsd_buckets.c statsd_pack.c statsd_gate.c statsd_guard.c statsd_nameset.c statsd_name.c statsd_choose.c statsd_tags.c statsd_lines.c statsd_lines_tagged.c statsd_gauges.c statsd_resolver.c statsd_breakdown.c statsd_selfstats.c
CORE_HDR = statsd_bytes.h statsd_spin.h statsd_target.h statsd_client.h statsd_batch.h statsd_sum.h statsd_interval.h statsd_sample.h statsd_buckets.h statsd_pack.h statsd_gate.h statsd_guard.h statsd_nameset.h statsd_name.h statsd_choose.h statsd_tags.h statsd_lines.h statsd_gauges.h statsd_resolver.h statsd_breakdown.h statsd_selfstats.h
GLUE_SRC = mod_statsd.c mod_statsd_config.c mod_statsd_defaults.c
GLUE_SRC += mod_statsd_lifecycle.c mod_statsd_workers.c
GLUE_SRC += mod_statsd_header.c mod_statsd_status.c mod_statsd_breakdown.c
GLUE_SRC += mod_statsd_shared.c mod_statsd_modstatus.c
GLUE_HDR = mod_statsd.h mod_statsd_msgids.h
MODULE = .libs/mod_statsd.so

.PHONY: all deps test unit integration demo install clean distclean

all: $(MODULE)

deps:
	@scripts/deps.sh build

# How the module is compiled, here and in the ASan build (which only adds
# its sanitizer flags), so the sanitizers check the code that ships:
# - only statsd_module is visible: no symbol of ours clashes with another
#   module's, and the compiler may inline across our files freely;
# - link-time optimisation inlines the core units into the request path;
#   with gcc only (clang needs a linker plugin), MODULE_LTO= builds
#   without it; in one partition, so that how the request path is
#   compiled (which registers a call may keep) does not depend on how
#   the linker happens to split the rest of the module;
# - warnings are errors.
MODULE_LTO ?= auto
APXS_COMPILE = lto='$(MODULE_LTO)'; if [ "$$lto" = auto ]; then lto=; \
	  case "$$($(APXS) -q CC)" in *gcc*) lto="-Wc,-flto -Wl,-flto -Wl,-flto-partition=one";; esac; fi; \
	$(APXS) -c -Wc,-std=gnu99 -Wc,-fvisibility=hidden $$lto \
	    $(addprefix -Wc$(comma),$(WARN))

$(MODULE): $(GLUE_SRC) $(GLUE_HDR) $(CORE_SRC) $(CORE_HDR)
	@command -v $(APXS) >/dev/null 2>&1 || scripts/deps.sh build
	$(APXS_COMPILE) -o mod_statsd.so $(GLUE_SRC) $(CORE_SRC)

# ---- unit tests (Check), no httpd needed ---------------------------------
UNIT_CFLAGS = -std=gnu99 -g -O1 $(WARN) -I.
UNIT_TESTS = t/unit/test_name t/unit/test_lines t/unit/test_client t/unit/test_batch t/unit/test_sum t/unit/test_interval t/unit/test_sample t/unit/test_buckets t/unit/test_pack t/unit/test_gate t/unit/test_tags t/unit/test_gauges t/unit/test_resolver t/unit/test_breakdown t/unit/test_nameset t/unit/test_selfstats

t/unit/test_%: t/unit/test_%.c t/unit/unit_util.h $(CORE_SRC) $(CORE_HDR)
	$(CC) $(UNIT_CFLAGS) $(EXTRA_CFLAGS) -o $@ $< $(CORE_SRC) $$(pkg-config --cflags --libs check) -lpthread $(EXTRA_LDFLAGS)

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; CK_FORK=yes ./$$t; done

# ---- integration tests (pytest + real apache2) ---------------------------
integration: $(MODULE)
	$(PYTHON) -m pytest -q t/integration

test:
	@scripts/deps.sh test
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-check
	$(MAKE) integration

demo:
	@scripts/deps.sh demo
	$(MAKE) all
	$(PYTHON) demo/demo.py

# apxs -i only copies the module: it never edits httpd.conf (no -a/-A)
install: $(MODULE)
	dir="$(DESTDIR)$$($(APXS) -q LIBEXECDIR)" && mkdir -p "$$dir" && \
	$(APXS) -i -S LIBEXECDIR="$$dir" -n statsd mod_statsd.la

clean:
	rm -rf .libs *.o *.lo *.la *.slo $(UNIT_TESTS) t/unit/*.o build
	find . -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -f config.mk config.log config.status
	rm -rf autom4te.cache

# more targets (bench, fuzz, package, ...) live in mk/, one file each
include $(wildcard mk/*.mk)
