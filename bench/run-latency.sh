#!/bin/sh
# The daemon's latency: server delivery -> file in new/, and a reader's flag change -> the
# server, 100 events each (see bench/latency.py --help). Needs root for the ext4 loop mount.
#   bench/run-latency.sh               push by NOTIFY
#   bench/run-latency.sh --no-notify   push by IDLE
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release >/dev/null
meson compile -C build-bench >/dev/null
exec python3 bench/latency.py "$@"
