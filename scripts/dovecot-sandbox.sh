#!/bin/sh
# A throwaway Dovecot on 127.0.0.1 for the demo and the benchmarks, in a directory of its own.
#   dovecot-sandbox.sh start DIR   configure and start it; writes DIR/env (ports, paths)
#   dovecot-sandbox.sh stop DIR    stop it
# One user, alice, password "demo password"; IMAPS with a certificate made on start.
set -eu
cmd=$1 dir=$2

if [ "$cmd" = stop ]; then
  [ -f "$dir/dovecot.conf" ] && doveadm -c "$dir/dovecot.conf" stop 2>/dev/null || true
  exit 0
fi

mkdir -p "$dir/run" "$dir/mail"
chmod 755 "$dir"
if [ "$(id -u)" -eq 0 ]; then
  login=dovenull internal=dovecot mailuser=dovecot
else
  login=$(id -un) internal=$(id -un) mailuser=$(id -un)
fi
chown "$mailuser" "$dir/mail"
set -- $(python3 -c 'import socket
for _ in range(4):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
imap=$1 imaps=$2 pop3=$3 pop3s=$4
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null
echo "alice:{PLAIN}demo password::::::" > "$dir/passwd"
cat > "$dir/dovecot.conf" <<CONF
base_dir = $dir/run
state_dir = $dir/state
instance_name = tidings-sandbox-$$
log_path = $dir/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$dir/cert.pem
ssl_key = <$dir/key.pem
default_login_user = $login
default_internal_user = $internal
default_internal_group = $internal
first_valid_uid = 0
mail_location = maildir:$dir/mail/%u
pop3_uidl_format = %08Xu%08Xv
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN $dir/passwd
}
userdb {
  driver = static
  args = uid=$mailuser gid=$mailuser home=$dir/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    port = $imap
  }
  inet_listener imaps {
    port = $imaps
  }
}
service pop3-login {
  chroot =
  inet_listener pop3 {
    port = $pop3
  }
  inet_listener pop3s {
    port = $pop3s
  }
}
service anvil {
  chroot =
}
CONF
dovecot -c "$dir/dovecot.conf"
cat > "$dir/env" <<ENV
IMAP_PORT=$imap
IMAPS_PORT=$imaps
POP3_PORT=$pop3
POP3S_PORT=$pop3s
CA_FILE=$dir/cert.pem
DOVECOT_CONF=$dir/dovecot.conf
ENV
# Wait (bounded) until it accepts connections.
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $imaps), 1)" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "Dovecot did not start; see $dir/dovecot.log" >&2; exit 1; }
  sleep 0.1
done
