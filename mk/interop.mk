# Interop with other statsd receivers and the Graphite dashboard (issue 6).
#   make test-interop   pytest t/interop: the module's lines through
#                       collectd's statsd plugin, and through npm statsd
#                       0.9.0 -> carbon-cache -> whisper (values compared)
#   make dashboard      a minute of mixed traffic through httpd + module ->
#                       statsd -> carbon -> whisper with one graceful restart,
#                       rendered to dashboard/dashboard.png
#                       (DASHBOARD_ARGS="--seconds 30" for a shorter run)
# npm statsd is installed into build/statsd when it is not there already.

.PHONY: test-interop dashboard interop-deps dashboard-deps

INTEROP_DEPS = build-essential apache2 apache2-dev collectd-core \
               graphite-carbon python3-whisper python3-pytest
interop_need = missing=""; \
	for p in $(1); do \
	    dpkg-query -W -f '$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

interop-deps:
	@$(call interop_need,$(INTEROP_DEPS))

dashboard-deps:
	@$(call interop_need,$(INTEROP_DEPS) python3-matplotlib)

test-interop: interop-deps
	$(MAKE) all
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m pytest -v -p no:cacheprovider t/interop

dashboard: dashboard-deps
	$(MAKE) all
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) dashboard/dashboard.py $(DASHBOARD_ARGS)
