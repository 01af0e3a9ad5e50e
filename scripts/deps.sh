#!/bin/sh
# Installs the Debian packages Tidings needs to build, test and run the demo, when missing.
# Used by scripts/demo.sh and scripts/test.sh; safe to run again.
set -eu

PACKAGES="meson ninja-build pkg-config gcc libc6-dev libglib2.0-dev libglib2.0-bin \
libsqlite3-dev libsecret-1-dev libgsasl-dev libgmime-3.0-dev libjson-glib-dev libsoup-3.0-dev \
libgoa-1.0-dev \
glib-networking ca-certificates openssl gnome-online-accounts libsecret-tools \
dovecot-core dovecot-imapd dovecot-pop3d python3 dbus-daemon gnome-keyring scdoc zsh fish \
isync offlineimap3"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "Installing Debian packages:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Run as root or install sudo to install:$missing" >&2; exit 1; }
  SUDO="sudo"
fi
# Dovecot's package would start a system-wide server; Tidings only needs the binaries, so
# service starts are refused for the length of the install (the standard policy-rc.d hook).
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  added_policy=1
fi
trap 'if [ -n "$added_policy" ]; then $SUDO rm -f "$policy"; fi' EXIT
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
