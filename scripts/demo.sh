#!/bin/sh
# The demo: builds Tidings, starts a throwaway Dovecot on 127.0.0.1 seeded with sample mail,
# runs a real `tidings sync` over IMAPS, shows what landed in the Maildir, changes things on
# the server and syncs again. Installs missing Debian packages first.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

sh scripts/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
meson compile -C build >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/tidings-demo-XXXXXX")
chmod 711 "$work" # the server's own user must reach its files in $work/server
sh scripts/dovecot-sandbox.sh start "$work/server"
trap 'sh "$top/scripts/dovecot-sandbox.sh" stop "$work/server"' EXIT
. "$work/server/env"
adm() { doveadm -c "$DOVECOT_CONF" "$@"; }

echo "== Seeding the sandbox server with sample mail"
adm mailbox create -u alice "Archive/2024" "Entwürfe" "Lists/gnome/devel"
n=0
for folder in INBOX INBOX INBOX INBOX INBOX Archive/2024 Archive/2024 Entwürfe Lists/gnome/devel Lists/gnome/devel; do
  n=$((n + 1))
  printf 'From: Zoë Example <zoe@example.org>\r\nTo: alice@example.org\r\nSubject: Sample message %d — Grüße\r\nDate: Sat, 21 Nov 2026 10:%02d:00 +0000\r\nMessage-ID: <demo%d@tidings.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Alice,\r\n\r\nthis is sample message %d in %s.\r\n' \
    $n $n $n $n "$folder" | adm save -u alice -m "$folder"
done
adm flags add -u alice '\Seen' mailbox INBOX uid 1:2

cat > "$work/config" <<CONF
[general]
state-dir = $work/state

[account demo]
protocol = imap
host = localhost
port = $IMAPS_PORT
user = alice
password = demo password
tls-ca-file = $CA_FILE
maildir = $work/Mail
CONF
chmod 600 "$work/config"
run() { TIDINGS_PLUGIN_DIR="$top/build/plugins/imap:$top/build/plugins/pop3" "$top/build/cli/tidings" --config "$work/config" "$@"; }

echo; echo "== tidings sync (first run)"
run sync --verbose 2>/dev/null
echo; echo "== What landed in $work/Mail"
(cd "$work/Mail" && find . -path '*/cur/*' -o -path '*/new/*' | sort | sed 's|^\./||')
echo; echo "== One message, as a mail reader sees it"
first=$(find "$work/Mail/INBOX" -path '*/new/*' -type f | sort | head -n 1)
cat "$first"

echo; echo "== The server changes: a flag, a deletion and a new message"
adm flags add -u alice '\Flagged' mailbox INBOX uid 3
adm expunge -u alice mailbox INBOX uid 4
printf 'Subject: A late arrival\r\nMessage-ID: <late@tidings.example>\r\n\r\nJust in.\r\n' | adm save -u alice -m INBOX
echo "== tidings sync (second run)"
run sync --verbose 2>/dev/null
echo; echo "== tidings sync (nothing changed)"
run sync --verbose 2>/dev/null
echo; echo "The Maildir stays in $work/Mail for you to look at (mutt -f $work/Mail/INBOX)."
