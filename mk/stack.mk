# make stack-usage - how much of a request thread's stack the module uses.
#   The module is built as `make` builds it (apxs's compiler and flags,
#   link-time optimisation with gcc) into build/stack/, with gcc writing
#   its call graph and every function's frame (-fcallgraph-info=su,
#   -fstack-usage); scripts/stack_usage.py prints the frames reachable
#   from the request-path hooks and the deepest chain below each.
#   The frames are the compiler's static figures: what httpd, APR and libc
#   use below the module's calls is not included.

STACK_OUT = build/stack
STACK_OBJ = $(addprefix $(STACK_OUT)/,$(patsubst %.c,%.o,$(GLUE_SRC) $(CORE_SRC)))
# the hooks that run on a request thread
STACK_ROOTS = log_transaction stat_header_out insert_stat_header_filter
# calls through function pointers, which the call graph does not show
STACK_EDGES = --edge statsd_name_from_path:exclude_segment \
              --edge log_transaction:exclude_segment \
              --edge statsd_client_send:default_send

.PHONY: stack-usage

$(STACK_OUT)/%.o: %.c $(GLUE_HDR) $(CORE_HDR) mk/stack.mk
	@mkdir -p $(STACK_OUT)
	$$($(APXS) -q CC) $$($(APXS) -q CFLAGS) $$($(APXS) -q EXTRA_CPPFLAGS) \
	    -I$$($(APXS) -q INCLUDEDIR) -I$$($(APXS) -q APR_INCLUDEDIR) \
	    -std=gnu99 -fPIC -fvisibility=hidden -flto $(WARN) -c $< -o $@

stack-usage: $(STACK_OBJ)
	@case "$$($(APXS) -q CC)" in *gcc*) ;; \
	  *) echo "stack-usage: needs gcc (-fcallgraph-info)"; exit 1;; esac
	rm -f $(STACK_OUT)/*.ci $(STACK_OUT)/*.su
	cd $(STACK_OUT) && $$($(APXS) -q CC) $$($(APXS) -q CFLAGS | sed s/-pipe//) -shared -fPIC \
	    -flto -fcallgraph-info=su -fstack-usage -save-temps \
	    -o mod_statsd.so $(notdir $(STACK_OBJ))
	$(PYTHON) scripts/stack_usage.py $(STACK_EDGES) $(STACK_OUT)/*.ci -- $(STACK_ROOTS)
