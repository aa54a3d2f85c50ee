#!/bin/sh
# copy_tree.sh REPO DEST - copy the project's sources from REPO into DEST
# (which must exist), without build outputs: the tracked files plus new
# ones git does not ignore, or, outside a git work tree, everything but the
# usual build products. The package and install tests build from such a
# copy so that nothing built in REPO leaks into what they test.
set -eu
REPO=$1
DEST=$2
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # files deleted in the work tree but still tracked are left out
    git -C "$REPO" ls-files -z -c -o --exclude-standard |
        xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
        tar -C "$REPO" --null -T - -cf - | tar -C "$DEST" -xf -
else
    tar -C "$REPO" --exclude=./build --exclude=./.git --exclude=./.libs \
        --exclude='*.o' --exclude='*.lo' --exclude='*.la' --exclude='*.slo' \
        --exclude=./config.mk --exclude=__pycache__ --exclude=.pytest_cache \
        -cf - . | tar -C "$DEST" -xf -
fi
