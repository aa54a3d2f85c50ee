# make test-stress - the long reliability runs of t/integration (the tests
# marked `stress`: 100 graceful restarts per MPM under load, 10 s against a
# statsd that never reads, MaxConnectionsPerChild over thousands of
# requests). They are skipped unless STATSD_STRESS=1, so the normal
# `make test` / `make integration` never runs them. About 5-10 minutes.

.PHONY: test-stress

test-stress: $(MODULE)
	STATSD_STRESS=1 $(PYTHON) -m pytest -q -m stress t/integration
