#!/usr/bin/env python3
"""Stands in for xdg-open in the OAuth2 tests: opens the sign-in page as a browser would and
follows its redirect back to Tidings' loopback listener. Only loopback addresses are
opened; the test server grants at once, as a user clicking "Allow" would.

Usage: fake-browser.py URL
"""
import sys
import urllib.parse
import urllib.request


def main():
    url = sys.argv[1]
    if urllib.parse.urlsplit(url).hostname != "127.0.0.1":
        sys.exit("fake-browser: not a loopback address: " + url)
    with urllib.request.urlopen(url, timeout=30) as page:
        page.read(64 * 1024)


if __name__ == "__main__":
    main()
