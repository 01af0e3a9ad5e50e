#!/bin/sh
# Benchmark Tidings against mbsync and offlineimap (IMAP) and fetchmail, getmail6 and mpop
# (POP3), all Debian packages, on one corpus.
#   bench/run.sh                      500 messages (under 6 minutes here)
#   bench/run.sh --messages 1500      the README's table
#   bench/run.sh --messages 20000     the full table (hours: offlineimap through the proxy)
# Needs root for the ext4 loop mount it measures on; see bench/bench.py --help.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
for p in isync offlineimap3 fetchmail safecat getmail6 mpop e2fsprogs time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="${missing:-} $p"
done
if [ -n "${missing:-}" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
[ -f build-bench/build.ninja ] || meson setup build-bench --buildtype=release >/dev/null
meson compile -C build-bench >/dev/null
exec python3 bench/bench.py "$@"
