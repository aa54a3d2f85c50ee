# make stack-usage - how much of a request thread's stack the module uses.
#   The module is built exactly as `make` builds it (APXS_COMPILE: apxs's
#   compiler and flags, link-time optimisation in one partition with gcc)
#   in a copy under build/stack/, with gcc also writing its call graph and
#   every function's frame (-fcallgraph-info=su, -fstack-usage) at link
#   time, where link-time optimisation compiles the code (-save-temps keeps
#   those files; a build without it, MODULE_LTO=, has none to read).
#   scripts/stack_usage.py prints the frames reachable from the hooks that
#   run on a request thread and the deepest chain below each.
#   The frames are the compiler's static figures: what httpd, APR and libc
#   use below the module's calls is not included.

STACK_OUT = build/stack
STACK_MODULE = $(STACK_OUT)/.libs/mod_statsd.so
STACK_INFO = -fcallgraph-info=su -fstack-usage
# the hooks and filters that run on a request thread: the log phase, the
# Statsd-Stat header, the breakdown's filter and mod_proxy hooks, and the
# mod_status section
STACK_ROOTS = log_transaction stat_header_out insert_stat_header_filter \
              breakdown_out backend_attempt backend_status status_hook
# calls through function pointers, which the call graph does not show
STACK_EDGES = --edge statsd_name_from_path:exclude_segment \
              --edge log_transaction:exclude_segment \
              --edge statsd_client_send:default_send

.PHONY: stack-usage

# libtool passes a flag it does not know to the compiler driver at link
# time only when told to (-Xcompiler)
$(STACK_MODULE): $(GLUE_SRC) $(GLUE_HDR) $(CORE_SRC) $(CORE_HDR) mk/stack.mk
	@case "$$($(APXS) -q CC)" in *gcc*) ;; \
	  *) echo "stack-usage: needs gcc (-fcallgraph-info)"; exit 1;; esac
	@mkdir -p $(STACK_OUT)
	rm -rf $(STACK_OUT)/.libs
	cp -f $(GLUE_SRC) $(GLUE_HDR) $(CORE_SRC) $(CORE_HDR) $(STACK_OUT)/
	cd $(STACK_OUT) || exit 1; $(APXS_COMPILE) \
	    $(foreach f,$(STACK_INFO) -save-temps,-Wl,-Xcompiler -Wl,$(f)) \
	    -o mod_statsd.so $(GLUE_SRC) $(CORE_SRC)

stack-usage: $(STACK_MODULE)
	$(PYTHON) scripts/stack_usage.py $(STACK_EDGES) $(STACK_OUT)/.libs/*.ci -- $(STACK_ROOTS)
