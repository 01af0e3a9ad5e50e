#!/usr/bin/env python3
"""A stand-in OAuth2 authorisation server for the tests' Dovecot, on loopback only.

Dovecot's oauth2 passdb (introspection_mode = post) posts each access token it is given to
/introspect; this answers whether the token is active and whose it is (RFC 7662). Dovecot
cannot check a token without such a service, and no real provider may be reached from a
test, hence this scripted one.

Usage: oauth2-token-service.py TOKENS-FILE USER
The valid tokens are the lines of TOKENS-FILE, read again at each request so a test can
change them. The port chosen is printed on the first line of standard output.
"""
import http.server
import json
import sys
import urllib.parse

MAX_BODY = 64 * 1024


class Introspection(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        token = form.get("token", [""])[0]
        with open(sys.argv[1], encoding="utf-8") as f:
            valid = {line.strip() for line in f if line.strip()}
        answer = {"active": True, "username": sys.argv[2]} if token in valid else {"active": False}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = http.server.HTTPServer(("127.0.0.1", 0), Introspection)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
