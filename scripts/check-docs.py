#!/usr/bin/env python3
"""Checks that the man pages keep up with the code: every configuration key the loader
knows is described in tidings.conf(5), and every command and every option of `tidings
sync` in tidings(1). Run by the test suite with the built tidings as its argument."""
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def keys_in_loader():
    text = open(os.path.join(TOP, "engine", "common", "td-config.c")).read()
    keys = []
    for name in ("general_keys", "account_keys"):
        body = re.search(name + r"\[\] = \{(.*?)\};", text, re.S).group(1)
        keys += re.findall(r'"([a-z0-9-]+)"', body)
    return keys


def main():
    tidings = sys.argv[1]
    conf = open(os.path.join(TOP, "data", "tidings.conf.5.scd")).read()
    page = open(os.path.join(TOP, "data", "tidings.1.scd")).read()
    missing = [f"tidings.conf(5) lacks the key {k}" for k in keys_in_loader()
               if f"*{k}* =" not in conf]
    usage = subprocess.run([tidings, "--help"], capture_output=True, text=True).stdout
    commands = re.findall(r"^  ([a-z][a-z0-9-]+)", usage.split("Commands:")[1].split("Options:")[0],
                          re.M)
    missing += [f"tidings(1) lacks the command {c}" for c in commands
                if not re.search(r"^\*" + re.escape(c) + r"[* ]", page, re.M)]
    sync_help = subprocess.run([tidings, "sync", "--help"], capture_output=True, text=True).stdout
    options = set(re.findall(r"--([a-z][a-z-]+)", sync_help)) - {"help"}
    missing += [f"tidings(1) lacks the sync option --{o}" for o in sorted(options)
                if f"*--{o}*" not in page]
    if len(keys_in_loader()) < 20 or len(commands) < 5 or len(options) < 5:
        missing.append("the lists of keys, commands or options were not found (parser out of date)")
    for line in missing:
        print(line)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
