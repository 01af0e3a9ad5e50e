#!/usr/bin/env python3
"""Tidings daemon latency: how long a change takes to cross, measured 100 times each way.

New mail: a message is delivered on the server (doveadm save returns), and the clock runs
until its file is in the Maildir's INBOX/new. Local change: a mail reader's rename adds or
drops \\Flagged on a message in INBOX/cur, and the clock runs until Dovecot's own file for
that message carries the new flag. The daemon runs with push (NOTIFY, or IDLE when
--no-notify narrows Dovecot's capabilities) and a one-hour poll, on a bus of its own
(dbus-run-session), against the sandbox Dovecot on a fresh ext4 loop mount (as root), as
bench.py does. Prints median, 90th and 99th percentile, min and max, and writes the samples
as JSON. mbsync and offlineimap have no daemon to compare with.

  bench/run-latency.sh [--events 100] [--no-notify]
"""
import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
from bench import PASSWORD, TOP, Server, Workspace  # noqa: E402

POLL_S = 0.002       # how often the disk is looked at while a change crosses
LIMIT_S = 10.0       # an event that takes longer counts as lost
GAP_S = 0.3          # between events, so each is one change and not a burst


def wait_until(done, limit=LIMIT_S):
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if done():
            return time.monotonic()
        time.sleep(POLL_S)
    return None


def new_files(maildir):
    path = os.path.join(maildir, "INBOX", "new")
    return set(os.listdir(path)) if os.path.isdir(path) else set()


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(name, samples, lost):
    ms = [s * 1000 for s in samples]
    print(f"{name}: {len(ms)} events, {lost} lost (over {LIMIT_S:.0f} s)")
    if ms:
        print(f"  median {statistics.median(ms):.1f} ms, p90 {percentile(ms, 90):.1f} ms, "
              f"p99 {percentile(ms, 99):.1f} ms, min {min(ms):.1f} ms, max {max(ms):.1f} ms")


def new_mail(server, client_maildir, events):
    samples, lost = [], 0
    for i in range(events):
        before = new_files(client_maildir)
        msg = corpus.message(random.Random(i), 20_000_000 + i, 2000)
        server.adm("save", "-u", "alice", "-m", "INBOX", stdin=msg.encode())
        delivered = time.monotonic()
        seen = wait_until(lambda: len(new_files(client_maildir) - before) > 0)
        if seen is None:
            lost += 1
        else:
            samples.append(seen - delivered)
        time.sleep(GAP_S)
    return samples, lost


def local_change(server, client_maildir, events):
    """Toggles \\Flagged on one message at a time, through the Maildir, and waits for
    Dovecot's file of the same message (same Message-ID) to show it."""
    cur = os.path.join(client_maildir, "INBOX", "cur")
    new = os.path.join(client_maildir, "INBOX", "new")
    for name in os.listdir(new):  # a reader has looked at INBOX: everything is in cur/
        os.rename(os.path.join(new, name), os.path.join(cur, name.split(":")[0] + ":2,"))
    time.sleep(3)
    server_cur = os.path.join(server.maildir, "cur")

    def server_flagged():
        return sum(1 for f in os.listdir(server_cur) if "F" in f.rsplit(":2,", 1)[-1])

    samples, lost = [], 0
    for i in range(events):
        names = sorted(os.listdir(cur))
        name = names[i % len(names)]
        head, flags = name.rsplit(":2,", 1)
        was = server_flagged()
        adding = "F" not in flags
        flags = "".join(sorted(flags + "F")) if adding else flags.replace("F", "")
        os.rename(os.path.join(cur, name), os.path.join(cur, f"{head}:2,{flags}"))
        changed = time.monotonic()
        want = was + (1 if adding else -1)
        seen = wait_until(lambda: server_flagged() == want)
        if seen is None:
            lost += 1
        else:
            samples.append(seen - changed)
        time.sleep(GAP_S)
    return samples, lost


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=100, help="changes measured each way")
    ap.add_argument("--no-notify", action="store_true",
                    help="take NOTIFY out of Dovecot's capabilities: push by IDLE")
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "out"))
    args = ap.parse_args()

    ws = Workspace(1)
    server = None
    daemon = None
    try:
        print(f"Measuring on a {ws.kind}.")
        server = Server(ws.root)
        if args.no_notify:
            with open(server.conf, "a") as f:
                f.write("imap_capability = IMAP4rev1 LITERAL+ SASL-IR ENABLE IDLE UIDPLUS "
                        "CONDSTORE QRESYNC ESEARCH LIST-STATUS\n")
            server.adm("reload")
        for n in range(20):
            server.adm("save", "-u", "alice", "-m", "INBOX",
                       stdin=corpus.message(random.Random(n), n, 2000).encode())
        home = os.path.join(ws.root, "client")
        maildir = os.path.join(home, "Mail")
        os.makedirs(maildir)
        config = os.path.join(home, "config")
        with open(config, "w") as f:
            f.write(f"[general]\nstate-dir = {home}/state\n[account bench]\nprotocol = imap\n"
                    f"host = localhost\nport = {server.port}\nuser = alice\n"
                    f"password = {PASSWORD}\ntls-ca-file = {server.ca}\nmaildir = {maildir}\n"
                    "folders = INBOX\nwatch = INBOX\npoll-interval = 3600\nnotify = false\n")
        os.chmod(config, 0o600)
        env = dict(os.environ, HOME=home, TIDINGS_PLUGIN_DIR=os.pathsep.join(
            os.path.join(TOP, "build-bench", "plugins", p) for p in ("imap", "pop3")))
        daemon = subprocess.Popen(["dbus-run-session", "--",
                                   os.path.join(TOP, "build-bench", "cli", "tidings"),
                                   "--config", config, "daemon"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        if wait_until(lambda: len(new_files(maildir)) == 20, limit=30) is None:
            sys.exit("the daemon did not download the first 20 messages within 30 s")
        time.sleep(3)  # the watch is up and its first look is over
        mail, mail_lost = new_mail(server, maildir, args.events)
        local, local_lost = local_change(server, maildir, args.events)
        print(f"Push by {'IDLE' if args.no_notify else 'NOTIFY'}, {args.events} events each "
              f"way, {GAP_S:.1f} s apart:")
        report("New mail (delivered on the server -> file in new/)", mail, mail_lost)
        report("Local change (flag renamed in cur/ -> flag in Dovecot's file)", local, local_lost)
        os.makedirs(args.out, exist_ok=True)
        out = os.path.join(args.out, time.strftime("latency-%Y%m%d-%H%M%S.json"))
        with open(out, "w") as f:
            json.dump({"push": "idle" if args.no_notify else "notify", "new_mail_s": mail,
                       "new_mail_lost": mail_lost, "local_change_s": local,
                       "local_change_lost": local_lost, "workspace": ws.kind}, f, indent=1)
        print(f"Samples in {out}")
    finally:
        if daemon is not None:  # the bus and the daemon with it
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=60)
        if server is not None:
            server.stop()
        ws.close()


if __name__ == "__main__":
    main()
