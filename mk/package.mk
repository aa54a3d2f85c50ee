# Debian package and install-path checks.
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

package-deps:
	@scripts/deps.sh package

package: package-deps
	t/package/build_deb.sh build

test-package: package-deps
	PYTHONDONTWRITEBYTECODE=1 MOD_STATSD_PACKAGE_TEST=1 $(PYTHON) -m pytest -v -p no:cacheprovider t/package/test_package.py

test-install:
	@scripts/deps.sh install
	t/package/test_install.sh
