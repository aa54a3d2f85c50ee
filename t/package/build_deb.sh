#!/bin/sh
# Build the Debian package in a copy of the source tree, so nothing the build
# makes (debian/<package>/, .libs/, debian/files, ...) lands in the repository.
#
#   t/package/build_deb.sh [OUTDIR]        (default OUTDIR: <repo>/build)
#
# The copy is OUTDIR/package/libapache2-mod-statsd-<version>/ (the files git
# knows about plus untracked, not ignored ones; without git: the tree minus
# build/ and build products). dpkg-buildpackage -us -uc -b writes the .deb,
# .buildinfo and .changes next to it, in OUTDIR/package/; the .deb is copied
# to OUTDIR/. Prints the path of the .deb on the last line of stdout.
set -eu
REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$REPO/build}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

cd "$REPO"
VERSION=$(dpkg-parsechangelog -l debian/changelog -S Version)
UPSTREAM=${VERSION%-*}
SRC=$(dpkg-parsechangelog -l debian/changelog -S Source)
ARCH=$(dpkg --print-architecture)
WORK="$OUT/package"
TREE="$WORK/$SRC-$UPSTREAM"

rm -rf "$WORK"
mkdir -p "$TREE"
"$REPO/scripts/copy_tree.sh" "$REPO" "$TREE"

cd "$TREE"
echo "== dpkg-buildpackage -us -uc -b in $TREE" >&2
dpkg-buildpackage -us -uc -b >&2

DEB="$WORK/${SRC}_${VERSION}_${ARCH}.deb"
[ "$SRC" = libapache2-mod-statsd ] || DEB="$WORK/libapache2-mod-statsd_${VERSION}_${ARCH}.deb"
[ -f "$DEB" ] || { echo "build_deb.sh: $DEB was not built" >&2; exit 1; }
cp "$DEB" "$OUT/"
echo "$OUT/$(basename "$DEB")"
