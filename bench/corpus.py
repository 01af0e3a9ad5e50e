"""Seeded, realistic mail for the benchmark: written straight into the sandbox Dovecot's
Maildir (far faster than one `doveadm save` per message), then indexed by Dovecot."""
import base64
import os
import random
import time

FIRST = ["Zoë", "Jürgen", "Ana", "Li", "Olu", "Sigrún", "Mateo", "Priya", "Noor", "Émile"]
LAST = ["Müller", "García", "Chen", "Okafor", "Jónsdóttir", "Rossi", "Nakamura", "Dubois"]
WORDS = ("the sync engine keeps local mail in step with the server while readers stay fast "
         "über große Nachrichten déjà vu naïve façade メール 邮件 flags folders threads").split()

# Nested and non-ASCII folders; INBOX and the lists get most of the mail.
FOLDERS = ["INBOX", "Archive/2023", "Archive/2024", "Lists/gnome-devel", "Lists/notmuch",
           "Sent", "Drafts", "Entwürfe", "Work/Projects/Tidings", "Reçus"]
WEIGHTS = [30, 12, 12, 15, 10, 8, 2, 2, 6, 3]


def mutf7(name):
    """Modified UTF-7 (RFC 3501 5.1.3), as Dovecot names Maildir++ directories."""
    out, pending = [], []

    def flush():
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def folder_dir(maildir, folder):
    if folder == "INBOX":
        return maildir
    return os.path.join(maildir, "." + ".".join(mutf7(p) for p in folder.split("/")))


def body_text(rng, size):
    lines, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
        lines.append(line)
        n += len(line.encode()) + 1
    return "\n".join(lines) + "\n"


def message(rng, n, size):
    sender = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(1700000000 + n * 97))
    head = (f"From: {sender} <user{n % 97}@example.org>\nTo: alice@example.org\n"
            f"Subject: Nachricht {n}: {' '.join(rng.choice(WORDS) for _ in range(4))}\n"
            f"Date: {date}\nMessage-ID: <bench{n}.{rng.getrandbits(32):08x}@tidings.bench>\n"
            "MIME-Version: 1.0\n")
    if size < 20000:
        return head + "Content-Type: text/plain; charset=utf-8\n\n" + body_text(rng, size)
    boundary = f"b{n}"
    blob = base64.encodebytes(rng.randbytes(size * 3 // 4)).decode()
    return (head + f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'
            f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{body_text(rng, 600)}"
            f"--{boundary}\nContent-Type: application/octet-stream; name=\"data{n}.bin\"\n"
            f"Content-Transfer-Encoding: base64\n\n{blob}--{boundary}--\n")


def size_for(rng):
    """Mostly a few KB, some attachments, a few messages of several MB: about 50 KB mean."""
    r = rng.random()
    if r < 0.85:
        return int(rng.lognormvariate(7.8, 0.8))      # ~2.5 KB median, a few hundred bytes up
    if r < 0.99:
        return rng.randint(30_000, 300_000)
    return rng.randint(1_000_000, 4_000_000)


def write(maildir, count, seed, start=0, folders=None):
    """Writes @count messages; returns {folder: count}. Names are unique per seed and start."""
    rng = random.Random(seed)
    folders = folders or FOLDERS
    weights = [WEIGHTS[FOLDERS.index(f)] if f in FOLDERS else 1 for f in folders]
    written = {}
    for i in range(start, start + count):
        folder = rng.choices(folders, weights)[0]
        d = folder_dir(maildir, folder)
        seen = rng.random() < 0.8
        sub, info = ("cur", ":2,S") if seen else ("new", "")
        name = f"{1700000000 + i}.M{i}P1.bench{info}"
        with open(os.path.join(d, sub, name), "w", encoding="utf-8") as f:
            f.write(message(rng, i, size_for(rng)))
        written[folder] = written.get(folder, 0) + 1
    return written


def huge(maildir, folder, size):
    rng = random.Random(50)
    d = folder_dir(maildir, folder)
    with open(os.path.join(d, "new", "1700000000.huge.bench"), "w") as f:
        f.write(message(rng, 999999, size))
