# Debian package and install-path checks (issue 6).
#   make package        build libapache2-mod-statsd in a copy of the tree
#                       (build/package/), .deb copied to build/
#   make test-package   build, lintian (errors fail), install on this
#                       machine's apache2, see a request measured, purge and
#                       restore (root; t/package/test_package.py)
#   make test-install   make install DESTDIR=... (plain and after
#                       ./configure --with-apxs) put mod_statsd.so in place
#                       and touch nothing in /etc/apache2
#                       (t/package/test_install.sh)

.PHONY: package test-package test-install package-deps

# Debian packages (dpkg names) installed only when missing.
PACKAGE_DEPS = build-essential dpkg-dev debhelper apache2-dev apache2 lintian \
               python3 python3-pytest
package_need = missing=""; \
	for p in $(1); do \
	    dpkg-query -W -f '$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

package-deps:
	@$(call package_need,$(PACKAGE_DEPS))

package: package-deps
	t/package/build_deb.sh build

test-package: package-deps
	PYTHONDONTWRITEBYTECODE=1 MOD_STATSD_PACKAGE_TEST=1 $(PYTHON) -m pytest -v -p no:cacheprovider t/package/test_package.py

test-install:
	@$(call package_need,build-essential apache2-dev)
	t/package/test_install.sh
