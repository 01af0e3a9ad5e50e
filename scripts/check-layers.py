#!/usr/bin/env python3
"""Checks that every C file includes only its own layer and the layers below it.

The layers, bottom up: engine/common; engine/goa (GNOME Online Accounts, on common);
engine/backend (on common and goa) and storage (on common alone); engine/sync;
engine/daemon; then plugins/* (on the backend API) and cli. Prints each include
that runs up or sideways and exits 1 when there is one; used as a test (suite unit).
"""
import pathlib
import re
import sys

# What each folder may include besides itself.
ALLOWED = {
    "engine/common": set(),
    "engine/goa": {"engine/common"},
    "engine/backend": {"engine/common", "engine/goa"},
    "storage": {"engine/common"},
    "engine/sync": {"engine/common", "engine/goa", "engine/backend", "storage"},
    "engine/daemon": {"engine/common", "engine/goa", "engine/backend", "storage",
                      "engine/sync"},
    "plugins/imap": {"engine/common", "engine/backend"},
    "plugins/pop3": {"engine/common", "engine/backend"},
    "cli": {"engine/common", "engine/goa", "engine/backend", "storage", "engine/sync",
            "engine/daemon"},
}
# Headers the build generates, by the folder they belong to.
GENERATED = {"engine/daemon/td-dbus-generated.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(path):
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if path == layer or path.startswith(layer + "/"):
            return layer
    return None


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    bad = []
    checked = 0
    for source in sorted(root.rglob("*.[ch]")):
        rel = source.relative_to(root).as_posix()
        if rel.startswith(("build", "tests/", "bench/", ".")):
            continue
        own = layer_of(str(pathlib.PurePosixPath(rel).parent))
        if own is None:
            continue
        checked += 1
        for target in INCLUDE.findall(source.read_text(errors="replace")):
            if "/" not in target:
                # A bare name is a file of the same folder, or a generated header.
                if not (source.parent / target).exists() and not target.startswith("td-build-"):
                    if not target.endswith("-resources.h"):
                        bad.append(f"{rel}: bare include \"{target}\" of another folder")
                continue
            if not (root / target).exists() and target not in GENERATED:
                bad.append(f"{rel}: includes {target}, which is no file of the tree")
                continue
            to = layer_of(str(pathlib.PurePosixPath(target).parent))
            if to is None or to == own or to in ALLOWED[own]:
                continue
            bad.append(f"{rel}: includes {target} ({to} is not below {own})")
    for line in bad:
        print(line)
    print(f"{checked} files checked, {len(bad)} includes out of layer")
    return 1 if bad or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
