#!/bin/sh
# Builds Tidings and runs every test: unit, fuzz seeds and the Dovecot integration suite.
# Installs missing Debian packages first. Ends with "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."

sh scripts/deps.sh
# A build that fails is one failure, so the last line is still the count CI reads.
if ! { [ -f build/build.ninja ] || meson setup build >/dev/null; } \
   || ! meson compile -C build >/dev/null; then
  echo "the build failed (see above)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
status=0
meson test -C build --print-errorlogs --num-processes 2 || status=$?
python3 scripts/test-summary.py build/meson-logs/testlog.json
exit $status
