#!/bin/sh
# Builds Tidings and runs every test: unit, fuzz seeds and the Dovecot integration suite.
# Installs missing Debian packages first. Ends with "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."

sh scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null
status=0
meson test -C build --print-errorlogs --num-processes 2 || status=$?
python3 scripts/test-summary.py build/meson-logs/testlog.json
exit $status
