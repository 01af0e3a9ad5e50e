#!/usr/bin/env python3
"""The bench's delay proxy (bench/delay_proxy.py) as a program for the tests: a loopback
relay that delays everything by DELAY_MS each way, like a distant server, and counts the
round trips its clients waited for. Prints its port on the first line; when its standard
input closes (or LIFETIME seconds pass) prints "turns N" for all connections together and
exits. With --hold TEXT -- COMMAND..., the first chunk from a client that holds TEXT waits
until COMMAND has run (for a change on the server at an exact point of the conversation;
TEXT must travel in clear).
Usage: round-trip-relay.py PORT DELAY_MS [--hold TEXT -- COMMAND...]."""
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from delay_proxy import DelayProxy  # noqa: E402

LIFETIME = 300


def main():
    target, delay_ms = int(sys.argv[1]), int(sys.argv[2])
    hold = None
    if len(sys.argv) > 5 and sys.argv[3] == "--hold" and sys.argv[5] == "--":
        hold = {"text": sys.argv[4].encode(), "command": sys.argv[6:], "done": False}

    def inspect(data):
        if hold is not None and not hold["done"] and hold["text"] in data:
            hold["done"] = True
            subprocess.run(hold["command"], check=False, stdin=subprocess.DEVNULL)

    proxy = DelayProxy(target, delay_ms / 1000.0, inspect)
    print(proxy.port, flush=True)
    closed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), closed.set()), daemon=True).start()
    closed.wait(LIFETIME)
    print("turns", proxy.turns, flush=True)


if __name__ == "__main__":
    main()
