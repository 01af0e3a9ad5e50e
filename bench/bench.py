#!/usr/bin/env python3
"""Tidings benchmark: Tidings against mbsync and offlineimap (IMAP) and against fetchmail,
getmail6 and mpop (POP3), on the same account in one run.

Starts a sandbox Dovecot on loopback, fills it with a seeded corpus, and times each tool on
the same scenarios, straight to Dovecot and through a proxy that delays every read by 25 ms
each way. The POP3 tools read the same account's INBOX over POP3S, keeping mail on the
server and tracking it by UIDL. Everything lives on a fresh ext4 loop mount (when run as root), since this
machine's root filesystem has erratic costs for many small files. Prints medians and the
ratio of each peer to Tidings; writes the raw figures as JSON.
"""
import argparse
import ctypes
import json
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
from delay_proxy import DelayProxy  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "demo password"
LIBC = ctypes.CDLL(None, use_errno=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def settle(path):
    """Flushes the file system under @path before a timed run. The harness has just written
    the scenario's changes (new messages in the server's Maildir, Dovecot's indexes) to the
    same file system as the tools' Maildirs; left dirty, they would be billed to whichever
    tool flushes first: a file system flush (syncfs) pays for all of it, an fsync per file
    for the part ext4's journal ties to its own. A real server's writes are on another disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if LIBC.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


class Workspace:
    """A fresh ext4 file system on a loop device (root), or a temp dir (with a warning)."""

    def __init__(self, size_gb):
        self.base = tempfile.mkdtemp(prefix="tidings-bench-")
        os.chmod(self.base, 0o711)
        self.mount = None
        if os.geteuid() == 0 and shutil.which("mkfs.ext4"):
            image = os.path.join(self.base, "fs.img")
            self.mount = os.path.join(self.base, "fs")
            os.mkdir(self.mount)
            run(["truncate", "-s", f"{size_gb}G", image])
            run(["mkfs.ext4", "-q", "-F", image])
            run(["mount", "-o", "loop", image, self.mount])
            os.chmod(self.mount, 0o711)
            self.root = self.mount
            self.kind = f"fresh ext4 loop mount ({size_gb} GiB image)"
        else:
            self.root = self.base
            self.kind = "temporary directory (not root: no loop mount; figures are noisier)"

    def close(self):
        if self.mount:
            subprocess.run(["umount", self.mount], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


class Server:
    def __init__(self, root):
        self.dir = os.path.join(root, "server")
        run(["sh", os.path.join(TOP, "scripts", "dovecot-sandbox.sh"), "start", self.dir])
        env = dict(line.strip().split("=", 1) for line in open(os.path.join(self.dir, "env")))
        self.port = int(env["IMAPS_PORT"])
        self.pop3_port = int(env["POP3S_PORT"])
        self.ca = env["CA_FILE"]
        self.conf = env["DOVECOT_CONF"]
        self.maildir = os.path.join(self.dir, "mail", "alice")
        self.log = os.path.join(self.dir, "dovecot.log")

    def adm(self, *args, stdin=None):
        return subprocess.run(["doveadm", "-c", self.conf, *args], check=True, input=stdin,
                              stdout=subprocess.PIPE).stdout

    def wire_bytes(self):
        """IMAP bytes both ways so far, from Dovecot's in=/out= on each logout."""
        total = 0
        for line in open(self.log, errors="replace"):
            if "imap(alice)" in line and " in=" in line:
                for part in line.split():
                    if part.startswith(("in=", "out=")):
                        total += int(part.split("=")[1])
        return total

    def stop(self):
        subprocess.run(["sh", os.path.join(TOP, "scripts", "dovecot-sandbox.sh"), "stop", self.dir])


class Tool:
    ok_codes = (0,)
    counts_wire = True  # Dovecot logs IMAP bytes per session, not POP3 ones

    def __init__(self, name, root, server, port, proxy=None):
        self.name, self.server, self.port, self.proxy = name, server, port, proxy
        self.home = os.path.join(root, "clients", f"{name}-{port}")
        self.maildir = os.path.join(self.home, "Mail")
        self.config = os.path.join(self.home, "config")

    def reset(self):
        shutil.rmtree(self.home, ignore_errors=True)
        os.makedirs(self.maildir)
        self.write_config()

    def catch_up_args(self):
        """Arguments of an untimed run that takes in what the other tools did to the shared
        account (which may look like a mass deletion to a tool's guard)."""
        return ()

    def measure(self, catch_up=False):
        """Wall, CPU and peak RSS from GNU time, which waits for the tool itself: a wait4()
        from Python would count the forked interpreter's pages before exec as the tool's."""
        env = dict(os.environ, HOME=self.home, TIDINGS_PLUGIN_DIR=os.pathsep.join(
            os.path.join(TOP, "build-bench", "plugins", p) for p in ("imap", "pop3")))
        stats = os.path.join(self.home, "time.out")
        settle(self.home)
        before = self.server.wire_bytes()
        turns = self.proxy.turns if self.proxy else None
        # BENCH_WRAP (say "strace -f -tt -o /tmp/t.trace") runs Tidings under a profiler; its
        # figures then include the profiler's cost, so use it to look, not to compare.
        wrap = shlex.split(os.environ.get("BENCH_WRAP", "")) if self.name == "tidings" else []
        proc = subprocess.run(["/usr/bin/time", "-o", stats, "-f", "%e %U %S %M", *wrap,
                               *self.command(*(self.catch_up_args() if catch_up else ()))],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if proc.returncode not in self.ok_codes:
            err = proc.stderr.decode(errors="replace")
            raise RuntimeError(f"{self.name} exited {proc.returncode}: {err[-2000:]}")
        wall, user, sys_, rss_kb = open(stats).read().split()[-4:]
        time.sleep(0.05)  # let Dovecot log the logout
        wire = (self.server.wire_bytes() - before) / 1e6 if self.counts_wire else None
        if turns is not None:
            turns = self.proxy.turns - turns
        return {"wall": float(wall), "cpu": float(user) + float(sys_), "rss_mb": int(rss_kb) / 1024,
                "wire_mb": wire, "turns": turns}


class Tidings(Tool):
    def write_config(self):
        with open(self.config, "w") as f:
            f.write(f"[general]\nstate-dir = {self.home}/state\n[account bench]\nprotocol = imap\n"
                    f"host = localhost\nport = {self.port}\nuser = alice\npassword = {PASSWORD}\n"
                    f"tls-ca-file = {self.server.ca}\nmaildir = {self.maildir}\nexclude = Huge\n"
                    "timeout = 600\n" + (f"connections = {self.connections}\n"
                                         if getattr(self, "connections", None) else ""))
        os.chmod(self.config, 0o600)

    def catch_up_args(self):
        return ("--force",)

    def command(self, *extra):
        return [os.path.join(TOP, "build-bench", "cli", "tidings"), "--config", self.config, "sync",
                "--quiet", *extra]


class Mbsync(Tool):
    def write_config(self):
        with open(self.config, "w") as f:
            f.write(f"IMAPAccount bench\nHost localhost\nPort {self.port}\nUser alice\n"
                    f"Pass \"{PASSWORD}\"\nSSLType IMAPS\nCertificateFile {self.server.ca}\n"
                    "PipelineDepth 50\n\nIMAPStore remote\nAccount bench\n\n"
                    f"MaildirStore local\nPath {self.maildir}/\nInbox {self.maildir}/INBOX\n"
                    "SubFolders Verbatim\n\nChannel bench\nFar :remote:\nNear :local:\n"
                    "Patterns * !Huge\nCreate Both\nExpunge Both\nSync All\nSyncState *\n")

    def command(self, *extra):
        return ["mbsync", "-q", "-c", self.config, "-a"]


class OfflineImap(Tool):
    def write_config(self):
        with open(self.config, "w") as f:
            f.write(f"[general]\naccounts = bench\nmetadata = {self.home}/state\n\n"
                    "[Account bench]\nlocalrepository = local\nremoterepository = remote\n\n"
                    f"[Repository local]\ntype = Maildir\nlocalfolders = {self.maildir}\nsep = /\n\n"
                    "[Repository remote]\ntype = IMAP\nremotehost = localhost\n"
                    f"remoteport = {self.port}\nremoteuser = alice\nremotepass = {PASSWORD}\n"
                    f"ssl = yes\nsslcacertfile = {self.server.ca}\n"
                    "folderfilter = lambda f: f != 'Huge'\n")

    def command(self, *extra):
        return ["offlineimap", "-c", self.config, "-u", "quiet"]


TOOLS = [("tidings", Tidings), ("mbsync", Mbsync), ("offlineimap", OfflineImap)]


class Pop3Tool(Tool):
    """A POP3 client delivering into a Maildir (cur/, new/, tmp/ in it), keeping mail on the
    server and skipping what it has by UIDL."""
    counts_wire = False

    def reset(self):
        super().reset()
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub), exist_ok=True)

    def write_private(self, text):
        with open(self.config, "w") as f:
            f.write(text)
        os.chmod(self.config, 0o600)


class TidingsPop3(Pop3Tool):
    def write_config(self):
        self.write_private(f"[general]\nstate-dir = {self.home}/state\n[account bench]\n"
                           f"protocol = pop3\nhost = localhost\nport = {self.port}\nuser = alice\n"
                           f"password = {PASSWORD}\ntls-ca-file = {self.server.ca}\n"
                           f"maildir = {self.maildir}\ntimeout = 600\n")

    def command(self):
        return [os.path.join(TOP, "build-bench", "cli", "tidings"), "--config", self.config, "sync",
                "--quiet"]


class Fetchmail(Pop3Tool):
    """fetchmail has no Maildir delivery of its own: safecat, the usual MDA for that."""
    ok_codes = (0, 1)  # 1: no new mail

    def write_config(self):
        self.write_private(
            "set no bouncemail\n"
            f"poll localhost protocol pop3 port {self.port} uidl\n"
            f"  user alice password \"{PASSWORD}\" ssl sslcertck sslcertfile {self.server.ca}\n"
            f"  keep mda \"safecat {self.maildir}/tmp {self.maildir}/new\"\n")

    def command(self):
        return ["fetchmail", "-f", self.config, "--idfile", os.path.join(self.home, "fetchids"),
                "--nosyslog", "--silent", "--nodetach"]


class Getmail(Pop3Tool):
    """getmail will not deliver as root: as root, it delivers as nobody."""

    def reset(self):
        super().reset()
        if os.geteuid() == 0:
            run(["chown", "-R", "nobody", self.maildir])

    def write_config(self):
        os.makedirs(os.path.join(self.home, "getmail"), exist_ok=True)
        user = "user = nobody\n" if os.geteuid() == 0 else ""
        self.write_private(
            f"[retriever]\ntype = SimplePOP3SSLRetriever\nserver = localhost\nport = {self.port}\n"
            f"username = alice\npassword = {PASSWORD}\nca_certs = {self.server.ca}\n\n"
            f"[destination]\ntype = Maildir\npath = {self.maildir}/\n{user}\n"
            "[options]\nread_all = false\ndelete = false\nverbose = 0\n")

    def command(self):
        return ["getmail", "--getmaildir", os.path.join(self.home, "getmail"), "--rcfile",
                self.config]


class Mpop(Pop3Tool):
    def write_config(self):
        self.write_private(
            f"defaults\ntls on\ntls_starttls off\ntls_trust_file {self.server.ca}\n\n"
            f"account bench\nhost localhost\nport {self.port}\nuser alice\n"
            f"password {PASSWORD}\ndelivery maildir {self.maildir}\nkeep on\n"
            f"uidls_file {self.home}/uidls\n")

    def command(self):
        return ["mpop", "-C", self.config, "-q", "bench"]


POP3_TOOLS = [("tidings", TidingsPop3), ("fetchmail", Fetchmail), ("getmail", Getmail),
              ("mpop", Mpop)]


CHANGE_FOLDERS = ["INBOX", "Archive/2024", "Lists/gnome-devel"]


def server_changes(server, rng, seq):
    """200 flag changes and 50 new messages, spread over a few folders."""
    uids = []
    for folder in CHANGE_FOLDERS:
        found = server.adm("search", "-u", "alice", "mailbox", folder, "ALL").decode().split()
        # doveadm search prints "<mailbox-guid> <uid>" pairs
        uids += [(folder, uid) for uid in found[1::2]]
    picked = rng.sample(uids, min(200, len(uids)))
    for folder in CHANGE_FOLDERS:
        chosen = ",".join(uid for f, uid in picked if f == folder)
        if chosen:
            flag = "\\Flagged" if seq % 2 else "\\Answered"
            server.adm("flags", "add", "-u", "alice", flag, "mailbox", folder, "uid", chosen)
    corpus.write(server.maildir, 50, seed=1000 + seq, start=10_000_000 + seq * 100,
                 folders=["INBOX", "Lists/gnome-devel"])
    fix_owner(server)
    server.adm("force-resync", "-u", "alice", "*")


def spread_changes(server, rng, seq, folders):
    """One flag change and one new message in each of @folders: a changed resync whose
    cost should not grow with the number of changed folders."""
    flag = "\\Flagged" if seq % 2 else "\\Answered"
    for folder in folders:
        found = server.adm("search", "-u", "alice", "mailbox", folder, "ALL").decode().split()
        if found:
            server.adm("flags", "add", "-u", "alice", flag, "mailbox", folder, "uid",
                       rng.choice(found[1::2]))
    for i, folder in enumerate(folders):
        corpus.write(server.maildir, 1, seed=5000 + seq * 1000 + i,
                     start=20_000_000 + seq * 1000 + i, folders=[folder])
    fix_owner(server)
    server.adm("force-resync", "-u", "alice", "*")


def local_changes(tool, rng):
    """200 flag changes and 20 deletions in the tool's own Maildir, as a mail reader makes
    them: a rename that adds or drops \\Flagged, and an unlink. Returns what they should do
    to the server: the change in its flagged and in its total message count."""
    files = []
    for folder in CHANGE_FOLDERS:
        cur = os.path.join(tool.maildir, folder, "cur")
        files += [os.path.join(cur, f) for f in sorted(os.listdir(cur)) if ":2," in f]
    picked = rng.sample(files, min(220, len(files)))
    flagged = 0
    for path in picked[:200]:
        head, flags = path.rsplit(":2,", 1)
        flagged += -1 if "F" in flags else 1
        flags = flags.replace("F", "") if "F" in flags else "".join(sorted(flags + "F"))
        os.rename(path, f"{head}:2,{flags}")
    for path in picked[200:]:
        flagged -= "F" in path.rsplit(":2,", 1)[1]
        os.unlink(path)
    return flagged, -len(picked[200:])


def server_counts(server):
    """Flagged and total messages in the folders the local scenario changes."""
    flagged = total = 0
    for folder in CHANGE_FOLDERS:
        for key, query in (("f", ["FLAGGED"]), ("t", ["ALL"])):
            out = server.adm("search", "-u", "alice", "mailbox", folder, *query).decode().split()
            n = len(out) // 2
            flagged, total = (flagged + n, total) if key == "f" else (flagged, total + n)
    return flagged, total


def local_scenario(tools, runs, rng):
    """Each tool pushes only its own changes: before its timed run it catches up, untimed,
    with what the other tools sent to the shared account."""
    results = {}
    for r in range(runs):
        for tool in tools:
            tool.measure()
            before = server_counts(tool.server)
            expected = local_changes(tool, rng)
            results.setdefault(tool.name, []).append(tool.measure())
            after = server_counts(tool.server)
            got = (after[0] - before[0], after[1] - before[1])
            if got != expected:
                print(f"  check: {tool.name} changed the server by {got} (flagged, messages), "
                      f"expected {expected}")
    return summarize(results)


MOVE_FROM, MOVE_TO = "INBOX", "Archive/2024"


def folder_count(server, folder):
    return len(server.adm("search", "-u", "alice", "mailbox", folder, "ALL").decode().split()) // 2


def reader_moves(tool, rng, n=100):
    """@n messages the reader moves from INBOX to Archive/2024 (or back, when INBOX has too
    few left) in the tool's own Maildir, the
    way mu4e does for mbsync users (its change-filenames setting): renamed into the other
    folder's cur/ without the ",U=" UID the tool put in the name, which only means something
    in the folder it came from."""
    source, target = MOVE_FROM, MOVE_TO
    if local_count(tool, source) < n:
        source, target = target, source
    files = []
    for sub in ("cur", "new"):
        d = os.path.join(tool.maildir, source, sub)
        files += [os.path.join(d, f) for f in sorted(os.listdir(d))]
    picked = rng.sample(files, min(n, len(files)))
    for path in picked:
        name = re.sub(r",U=\d+", "", os.path.basename(path))
        if ":2," not in name:
            name += ":2,"
        os.rename(path, os.path.join(tool.maildir, target, "cur", name))
    return target, len(picked)


def moves_local_scenario(tools, runs, rng):
    """Each tool carries its own reader's moves to the server: before its timed run it catches
    up, untimed, with what the other tools did to the shared account; after it the server
    must hold the moved messages in their new folder, once."""
    results = {}
    for r in range(runs):
        for tool in tools:
            tool.measure(catch_up=True)
            before = {f: folder_count(tool.server, f) for f in (MOVE_FROM, MOVE_TO)}
            target, n = reader_moves(tool, rng)
            results.setdefault(tool.name, []).append(tool.measure() | {"moved": n})
            got = folder_count(tool.server, target) - before[target]
            if got != n:
                print(f"  check: after {tool.name}, {target} on the server has {got:+d} "
                      f"messages, expected {n:+d}")
    return summarize(results)


def server_moves(server, rng, n=100):
    """@n messages moved on the server, as another client files them: from INBOX to
    Archive/2024, or back when INBOX has too few left."""
    source, target = MOVE_FROM, MOVE_TO
    if folder_count(server, source) < n:
        source, target = target, source
    uids = server.adm("search", "-u", "alice", "mailbox", source, "ALL").decode().split()[1::2]
    picked = rng.sample(uids, min(n, len(uids)))
    if picked:
        server.adm("move", "-u", "alice", target, "mailbox", source, "uid", ",".join(picked))
    return len(picked)


def local_count(tool, folder):
    return sum(len(os.listdir(os.path.join(tool.maildir, folder, sub))) for sub in ("cur", "new"))


def moves_server_scenario(tools, runs, rng):
    """Before each tool's timed run it catches up, untimed; then another client moves 100
    messages on the server, and the timed run must bring the tool's Maildir to the same."""
    results = {}
    for r in range(runs):
        for tool in tools:
            tool.measure(catch_up=True)
            n = server_moves(tool.server, rng)
            results.setdefault(tool.name, []).append(tool.measure() | {"moved": n})
            here = (local_count(tool, MOVE_FROM), local_count(tool, MOVE_TO))
            there = (folder_count(tool.server, MOVE_FROM), folder_count(tool.server, MOVE_TO))
            if here != there:
                print(f"  check: after {tool.name}, its INBOX and Archive/2024 hold {here}, "
                      f"the server {there} ({n} moved)")
    return summarize(results)


def fix_owner(server):
    if os.geteuid() == 0:
        run(["chown", "-R", "dovecot:dovecot", server.maildir])


def scenario(name, tools, runs, before_each=None, reset=False):
    results = {}
    for r in range(runs):
        if before_each:
            before_each(r)
        for tool in tools:
            if reset:
                tool.reset()
            results.setdefault(tool.name, []).append(tool.measure())
    return summarize(results)


def summarize(results):
    """Medians per tool (None where a figure is not measured), with the runs kept."""
    def median(rs, k):
        values = [x[k] for x in rs if x[k] is not None]
        return statistics.median(values) if values else None
    return {tool: {k: median(rs, k) for k in rs[0]} | {"runs": rs} for tool, rs in results.items()}


def print_table(title, table):
    print(f"\n{title}")
    print(f"  {'scenario':<26}{'tool':<13}{'wall s':>9}{'cpu s':>8}{'rss MB':>8}{'wire MB':>9}"
          f"{'trips':>7}{'wall ×':>8}{'spread s':>16}")
    for scen, by_tool in table.items():
        base = by_tool["tidings"]["wall"]
        for tool, m in by_tool.items():
            walls = [x["wall"] for x in m["runs"]]
            spread = f"{min(walls):.2f}–{max(walls):.2f}" if len(walls) > 1 else ""
            ratio = "1" if tool == "tidings" else f"{m['wall'] / base:.1f}"
            wire = "-" if m["wire_mb"] is None else f"{m['wire_mb']:.2f}"
            trips = "-" if m.get("turns") is None else f"{m['turns']:.0f}"
            print(f"  {scen if tool == 'tidings' else '':<26}{tool:<13}{m['wall']:>9.2f}{m['cpu']:>8.2f}"
                  f"{m['rss_mb']:>8.1f}{wire:>9}{trips:>7}{ratio:>8}{spread:>16}")


def pop3_section(ws, server, args, rng):
    """Initial download, a rerun with nothing new, and 50 new messages, per POP3 tool."""
    modes = [("POP3, direct to Dovecot", server.pop3_port, None)]
    if not args.no_proxy:
        modes.append((f"POP3, through a {args.delay_ms} ms proxy (each way)", None, args.delay_ms))
    wanted = args.pop3_tools.split(",")
    out = {}
    seq = [0]

    def new_mail(r):
        seq[0] += 1
        corpus.write(server.maildir, 50, seed=5000 + seq[0], start=20_000_000 + seq[0] * 100,
                     folders=["INBOX"])
        fix_owner(server)
        server.adm("force-resync", "-u", "alice", "INBOX")
    for title, port, delay in modes:
        proxy = DelayProxy(server.pop3_port, delay / 1000) if delay else None
        p = proxy.port if proxy else port
        tools = [cls(name, ws.root, server, p, proxy) for name, cls in POP3_TOOLS if name in wanted]
        table = {"initial download": scenario("initial", tools, args.runs, reset=True),
                 "rerun, nothing new": scenario("noop", tools, args.runs),
                 "50 new messages": scenario("new", tools, args.runs, before_each=new_mail)}
        inbox = len(os.listdir(os.path.join(tools[0].maildir, "new")))
        for tool in tools[1:]:
            got = sum(len(os.listdir(os.path.join(tool.maildir, s))) for s in ("cur", "new"))
            if got != inbox:
                print(f"  check: {tool.name} holds {got} messages, tidings {inbox}")
        print_table(f"{title} ({inbox} messages in INBOX at the end)", table)
        out[title] = table
    return out


def connections_section(ws, server, args):
    """Tidings' initial sync through a link that carries at most --connection-rate MB/s on
    each connection (as providers throttle each connection), with connections = 1 and 3."""
    script = os.path.join(TOP, "tests", "throttle-proxy.py")
    rate = int(args.connection_rate * 1e6)
    proxy = subprocess.Popen(["python3", script, str(server.port), str(rate)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(proxy.stdout.readline())
        tools = []
        for n in (1, 3):
            t = Tidings("tidings", ws.root, server, port)
            t.connections = n
            t.home += f"-c{n}"
            t.maildir = os.path.join(t.home, "Mail")
            t.config = os.path.join(t.home, "config")
            tools.append(t)
        results = {}
        for r in range(args.runs):
            for n, t in zip((1, 3), tools):
                t.reset()
                results.setdefault(f"connections = {n}", []).append(t.measure())
        table = summarize(results)
    finally:
        proxy.stdin.close()
        proxy.wait()
    print(f"\ninitial sync at {args.connection_rate:g} MB/s per connection (Tidings only)")
    base = table["connections = 1"]["wall"]
    for name, m in table.items():
        walls = [x["wall"] for x in m["runs"]]
        print(f"  {name:<18}{m['wall']:>8.2f} s{m['rss_mb']:>8.1f} MB rss"
              f"{base / m['wall']:>8.2f}x{min(walls):>9.2f}–{max(walls):.2f}")
    return table


def large_message_rss(ws, server, size_mb):
    corpus.huge(server.maildir, "Huge", size_mb * 1024 * 1024)
    fix_owner(server)
    server.adm("force-resync", "-u", "alice", "Huge")
    t = Tidings("tidings", ws.root, server, server.port)
    out = {}
    for folder in ("Drafts", "Huge"):
        t.reset()
        with open(t.config) as f:
            text = f.read().replace("exclude = Huge\n", f"folders = {folder}\n")
        with open(t.config, "w") as f:
            f.write(text)
        out[folder] = t.measure()["rss_mb"]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=500,
                    help="corpus size (500 runs in minutes; 1500 for the README table; 20000 for the full one)")
    ap.add_argument("--runs", type=int, default=3, help="runs per scenario; medians are shown")
    ap.add_argument("--delay-ms", type=int, default=25, help="proxy delay each way")
    ap.add_argument("--no-proxy", action="store_true", help="only the direct measurements")
    ap.add_argument("--folders", type=int, default=10,
                    help="folders in the corpus (at least 10; 20 for the issue's target account)")
    ap.add_argument("--tools", default="tidings,mbsync,offlineimap",
                    help="comma-separated subset of the tools to time")
    ap.add_argument("--scenarios", default="initial,noop,server,local,spread,moves",
                    help="comma-separated subset of the scenarios (initial always runs)")
    ap.add_argument("--pop3-tools", default="tidings,fetchmail,getmail,mpop",
                    help="comma-separated subset of the POP3 tools to time; empty for none")
    ap.add_argument("--connection-rate", type=float, default=0,
                    help="also time Tidings' initial sync through a link of this many MB/s per "
                         "connection, with connections = 1 and 3 (0: not run)")
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--out", default=os.path.join(TOP, "bench", "out"))
    args = ap.parse_args()

    ws = Workspace(size_gb=max(4, args.messages // 1500 * 2))
    server = None
    try:
        server = Server(ws.root)
        folders = corpus.FOLDERS + [f"Projects/p{i:02d}" for i in range(args.folders - 10)]
        for f in folders[1:] + ["Huge"]:
            server.adm("mailbox", "create", "-u", "alice", f)
        t0 = time.monotonic()
        counts = corpus.write(server.maildir, args.messages, seed=args.seed, folders=folders)
        fix_owner(server)
        server.adm("force-resync", "-u", "alice", "*")
        server.adm("index", "-u", "alice", "*")
        size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(server.maildir)
                   for f in fs if "bench" in f)
        print(f"corpus: {args.messages} messages, {size / 1e6:.1f} MB, {len(counts)} folders, "
              f"seed {args.seed} (made in {time.monotonic() - t0:.1f} s)")
        print(f"filesystem: {ws.kind}")
        modes = [("direct to Dovecot", server.port, None)]
        if not args.no_proxy:
            modes.append((f"through a {args.delay_ms} ms proxy (each way)", None, args.delay_ms))
        rng = random.Random(args.seed)
        report = {"messages": args.messages, "bytes": size, "filesystem": ws.kind, "modes": {}}
        for title, port, delay in modes:
            proxy = DelayProxy(server.port, delay / 1000) if delay else None
            p = proxy.port if proxy else port
            wanted = args.tools.split(",")
            tools = [cls(name, ws.root, server, p, proxy) for name, cls in TOOLS if name in wanted]
            scenarios = args.scenarios.split(",")
            table = {}
            table["initial sync"] = scenario("initial", tools, args.runs, reset=True)
            if "noop" in scenarios:
                table["resync, no changes"] = scenario("noop", tools, args.runs)
            seq = [0]

            def change(r):
                seq[0] += 1
                server_changes(server, rng, seq[0] + (1000 if delay else 0))
            if "server" in scenarios:
                table["200 flags + 50 new"] = scenario("server", tools, args.runs,
                                                       before_each=change)
            if "local" in scenarios:
                table["local: 200 flags, 20 del"] = local_scenario(tools, args.runs, rng)
            if "moves" in scenarios:
                table["100 moved here"] = moves_local_scenario(tools, args.runs, rng)
                table["100 moved on server"] = moves_server_scenario(tools, args.runs, rng)
            if "spread" in scenarios:
                names = list(folders)
                for n in sorted({1, min(10, len(names)), len(names)}):
                    def spread(r, n=n):
                        seq[0] += 1
                        spread_changes(server, rng, seq[0] + (1000 if delay else 0),
                                       rng.sample(names, n))
                    table[f"1 flag + 1 new in {n} fold."] = scenario("spread", tools, args.runs,
                                                                    before_each=spread)
            print_table(title, table)
            report["modes"][title] = table
        if args.pop3_tools:
            report["pop3"] = pop3_section(ws, server, args, rng)
        if args.connection_rate > 0:
            report["connections"] = connections_section(ws, server, args)
        rss = large_message_rss(ws, server, 50)
        print(f"\npeak RSS of tidings: one small folder {rss['Drafts']:.1f} MB; "
              f"one 50 MB message {rss['Huge']:.1f} MB")
        report["large_message_rss_mb"] = rss
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json")
        with open(path, "w") as f:
            json.dump(report, f, indent=1)
        print(f"raw figures: {path}")
    finally:
        if server:
            server.stop()
        ws.close()


if __name__ == "__main__":
    main()
