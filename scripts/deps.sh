#!/bin/sh
# Install the Debian packages a make target needs, only when missing.
# Usage: scripts/deps.sh SET... (build test demo bench fuzz install
#        package interop dashboard)
# Runs apt-get as root (or through sudo); does nothing when all is there.
set -e
want=""
need() { # need PACKAGE [COMMAND-OR-FILE]
    if [ -n "$2" ]; then
        case "$2" in
            /*) [ -e "$2" ] && return 0 ;;
            *) command -v "$2" >/dev/null 2>&1 && return 0 ;;
        esac
    else
        dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed' && return 0
    fi
    want="$want $1"
}
# Node and npm come from outside Debian on some machines, and Debian's npm
# conflicts with them: install Debian's only where they are missing.
need_node() {
    command -v node >/dev/null 2>&1 || want="$want nodejs"
    command -v npm >/dev/null 2>&1 || want="$want npm"
}
for what in "$@"; do
    case "$what" in
        build) need apache2-dev apxs; need gcc gcc; need make make ;;
        test)  need apache2-dev apxs; need apache2 /usr/sbin/apache2
               need check /usr/include/check.h; need pkg-config pkg-config
               need python3-pytest pytest-3; need curl curl; need_node ;;
        demo)  need apache2-dev apxs; need apache2 /usr/sbin/apache2
               need python3 python3; need curl curl; need_node ;;
        bench) need valgrind valgrind; need wrk wrk; need apache2 /usr/sbin/apache2
               need apache2-dev apxs; need python3 python3 ;;
        fuzz)  need clang clang; need libfuzzer-14-dev /usr/lib/llvm-14/lib/libFuzzer.a
               need libclang-rt-14-dev ;;
        install) need build-essential; need apache2-dev ;;
        package) need build-essential; need dpkg-dev; need debhelper
               need apache2-dev; need apache2; need lintian; need python3
               need python3-pytest ;;
        interop|dashboard)
               need build-essential; need apache2; need apache2-dev
               need collectd-core; need graphite-carbon; need python3-whisper
               need python3-pytest; need_node
               # graphite-web renders the dashboard and the interop test's
               # json; Debian's gunicorn serves it
               need graphite-web /usr/lib/python3/dist-packages/graphite/settings.py
               need gunicorn /usr/bin/gunicorn
               if [ "$what" = dashboard ]; then need python3-pil; fi ;;
        *) echo "deps.sh: unknown set '$what'" >&2; exit 2 ;;
    esac
done
[ -z "$want" ] && exit 0
echo "installing:$want"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $want >/dev/null
