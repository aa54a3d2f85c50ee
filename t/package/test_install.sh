#!/bin/sh
# make test-install: the install paths of the apxs build.
#
#  1. in the repository: make install DESTDIR=<tmp1>
#  2. in a copy of the tree (so config.mk is not left in the repository):
#     ./configure --with-apxs=/usr/bin/apxs && make && make install DESTDIR=<tmp2>
#
# Each must put exactly one file, <tmp>/usr/lib/apache2/modules/mod_statsd.so
# (mode 644, the module just built), under DESTDIR, and nothing may touch
# /etc/apache2 (checksummed before and after) or the system's modules dir.
# Never runs a plain "make install" (that would install into the system).
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
APXS_PATH=${APXS_PATH:-/usr/bin/apxs}
LIBEXECDIR=$("$APXS_PATH" -q LIBEXECDIR)
T=$(mktemp -d /tmp/mod_statsd-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok()  { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }

tree_sum() { # path: one line per entry (type, mode, owner, link target, content hash)
    [ -e "$1" ] || { echo "(absent)"; return; }
    find "$1" -printf '%y %m %U:%G %p -> %l\n' | LC_ALL=C sort
    find "$1" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
}
tree_sum /etc/apache2 > "$T/etc.before"
tree_sum "$LIBEXECDIR/mod_statsd.so" > "$T/sysmod.before"
repo_extra_before=$(cd "$REPO" && ls -d config.mk config.log config.status autom4te.cache 2>/dev/null || true)

check_destdir() { # label destdir builddir
    label=$1 dest=$2 build=$3
    want="$dest$LIBEXECDIR/mod_statsd.so"
    if [ -f "$want" ]; then ok "$label: $want installed"
    else bad "$label: $want missing"; fi
    files=$(cd "$dest" && find . ! -type d | LC_ALL=C sort | tr '\n' ' ')
    if [ "$files" = ".$LIBEXECDIR/mod_statsd.so " ]; then
        ok "$label: nothing else installed"
    else bad "$label: files under DESTDIR: $files"; fi
    if [ -f "$want" ] && [ "$(stat -c %a "$want")" = 644 ]; then
        ok "$label: mode 644"
    else bad "$label: mode is not 644"; fi
    if [ -f "$want" ] && cmp -s "$want" "$build/.libs/mod_statsd.so"; then
        ok "$label: same as $build/.libs/mod_statsd.so"
    else bad "$label: differs from the built module"; fi
}

# ---- 1. make install DESTDIR= in the repository ---------------------------
echo "== make install DESTDIR=$T/d1 (in $REPO)"
if make -C "$REPO" --no-print-directory install DESTDIR="$T/d1" > "$T/make1.log" 2>&1; then
    ok "make install DESTDIR=... succeeded"
else
    bad "make install DESTDIR=... failed:"
    sed 's/^/    /' "$T/make1.log"
    if grep -q "cannot create regular file" "$T/make1.log"; then
        echo "    (apxs -i does not create \$(DESTDIR)$LIBEXECDIR: the install rule"
        echo "     must mkdir -p it before calling apxs -i)"
    fi
fi
[ -d "$T/d1" ] || mkdir -p "$T/d1"
check_destdir "repo" "$T/d1" "$REPO"

# ---- 2. ./configure --with-apxs && make && make install DESTDIR= in a copy -
SRC="$T/src"
mkdir -p "$SRC"
"$REPO/scripts/copy_tree.sh" "$REPO" "$SRC"
echo "== ./configure --with-apxs=$APXS_PATH && make && make install DESTDIR=$T/d2 (in $SRC)"
if (cd "$SRC" && ./configure --with-apxs="$APXS_PATH" && make && \
    make install DESTDIR="$T/d2") > "$T/make2.log" 2>&1; then
    ok "configure + make + make install DESTDIR=... succeeded"
else
    bad "configure + make + make install DESTDIR=... failed (last lines):"
    tail -n 15 "$T/make2.log" | sed 's/^/    /'
fi
if grep -qx "APXS = $APXS_PATH" "$SRC/config.mk" 2>/dev/null; then
    ok "config.mk names APXS = $APXS_PATH"
else bad "config.mk does not name APXS = $APXS_PATH"; fi
[ -d "$T/d2" ] || mkdir -p "$T/d2"
check_destdir "configure" "$T/d2" "$SRC"

# ---- nothing else touched ---------------------------------------------------
tree_sum /etc/apache2 > "$T/etc.after"
if cmp -s "$T/etc.before" "$T/etc.after"; then ok "/etc/apache2 unchanged"
else bad "/etc/apache2 changed:"; diff "$T/etc.before" "$T/etc.after" | sed 's/^/    /'; fi
tree_sum "$LIBEXECDIR/mod_statsd.so" > "$T/sysmod.after"
if cmp -s "$T/sysmod.before" "$T/sysmod.after"; then ok "$LIBEXECDIR/mod_statsd.so untouched"
else bad "$LIBEXECDIR/mod_statsd.so changed"; fi
repo_extra_after=$(cd "$REPO" && ls -d config.mk config.log config.status autom4te.cache 2>/dev/null || true)
if [ "$repo_extra_before" = "$repo_extra_after" ]; then ok "no configure output left in the repository"
else bad "configure output appeared in the repository: $repo_extra_after"; fi

echo "test-install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
