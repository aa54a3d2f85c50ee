# Interop with other statsd receivers and the Graphite dashboard.
#   make test-interop   pytest t/interop: the module's lines through
#                       collectd's statsd plugin, and through npm statsd
#                       0.9.0 -> carbon-cache -> whisper (values compared;
#                       tagged lines into carbon's _tagged series; statsd's
#                       cluster proxy in front of two nodes), and the
#                       dashboard's targets rendered by graphite-web as json
#                       against the traffic
#   make dashboard      a minute of mixed traffic through httpd + module ->
#                       statsd -> carbon -> whisper with one graceful restart;
#                       graphite-web (under gunicorn) renders every target of
#                       dashboard/TARGETS.md and the panels of
#                       dashboard/dashboard.png
#                       (DASHBOARD_ARGS="--seconds 30" for a shorter run)
# npm statsd is installed into build/statsd when it is not there already.

.PHONY: test-interop dashboard interop-deps dashboard-deps

interop-deps:
	@scripts/deps.sh interop

dashboard-deps:
	@scripts/deps.sh dashboard

test-interop: interop-deps
	$(MAKE) all
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m pytest -v -rs -p no:cacheprovider t/interop

dashboard: dashboard-deps
	$(MAKE) all
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) dashboard/dashboard.py $(DASHBOARD_ARGS)
