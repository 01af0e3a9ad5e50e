#!/usr/bin/env python3
"""Counts test cases from meson's test log: every TAP "ok"/"not ok" line, and a test
program that failed without reporting a failing case counts as one failure."""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        test = json.loads(line)
        out = test.get("stdout") or ""
        oks = re.findall(r"^ok \d+.*$", out, re.M)
        bad = re.findall(r"^not ok \d+", out, re.M)
        skips = [o for o in oks if "# SKIP" in o]
        passed += len(oks) - len(skips)
        skipped += len(skips)
        failed += len(bad)
        if test["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and not bad:
            failed += 1
            print(f"{test['name']}: {test['result']}", file=sys.stderr)
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
