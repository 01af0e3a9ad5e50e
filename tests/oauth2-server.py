#!/usr/bin/env python3
"""A small OAuth2 authorization server for the tests, on loopback only.

No real provider may be reached from a test, so this scripted one stands in for Google or
Microsoft. It has the endpoints Tidings uses: /authorize (the authorization code flow with
PKCE, RFC 7636; it grants at once, as a user clicking "Allow" would), /token (codes, refresh
tokens and device codes), /device (RFC 8628; a device code is granted after one
"authorization_pending" answer, as if the user typed the code in meanwhile), and
/introspect (RFC 7662) for Dovecot's oauth2 passdb, which thus accepts exactly the access
tokens this server issued and has not revoked or let expire. POST /control/revoke-access and
/control/revoke-all let a test take tokens back.

Usage: oauth2-server.py STATE-DIR USER CLIENT-ID CLIENT-SECRET LIFETIME
Every token issued is appended to STATE-DIR/issued (for the tests' leak search), and the
number of grants of each kind is kept in STATE-DIR/counts.json. The port is printed on the
first line of standard output.
"""
import base64
import hashlib
import http.server
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse

MAX_BODY = 64 * 1024
STATE, USER, CLIENT_ID, CLIENT_SECRET, LIFETIME = sys.argv[1:6]
LIFETIME = int(LIFETIME)
LOCK = threading.Lock()
codes = {}        # code -> (challenge, redirect_uri)
devices = {}      # device_code -> polls so far
access = {}       # access token -> expiry (time.time())
refresh = set()
counts = {}


def issue(kind):
    token = kind + "-" + secrets.token_urlsafe(24)
    with open(os.path.join(STATE, "issued"), "a", encoding="ascii") as f:
        f.write(token + "\n")
    return token


def count(what):
    counts[what] = counts.get(what, 0) + 1
    with open(os.path.join(STATE, "counts.json"), "w", encoding="ascii") as f:
        json.dump(counts, f)


def grant(what):
    count(what)
    token = issue("access")
    access[token] = time.time() + LIFETIME
    new_refresh = issue("refresh")
    refresh.add(new_refresh)
    return 200, {"access_token": token, "token_type": "Bearer", "expires_in": LIFETIME,
                 "refresh_token": new_refresh, "scope": "mail"}


def token_endpoint(form):
    if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
        return 401, {"error": "invalid_client"}
    kind = form.get("grant_type")
    if kind == "authorization_code":
        found = codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "").encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if found is None or found[1] != form.get("redirect_uri") or digest.decode() != found[0]:
            return 400, {"error": "invalid_grant"}
        return grant("code")
    if kind == "refresh_token":
        old = form.get("refresh_token", "")
        if old not in refresh:
            return 400, {"error": "invalid_grant"}
        refresh.discard(old)  # rotated, as Microsoft does
        return grant("refresh")
    if kind == "urn:ietf:params:oauth:grant-type:device_code":
        code = form.get("device_code", "")
        if code not in devices:
            return 400, {"error": "expired_token"}
        devices[code] += 1
        if devices[code] < 2:
            return 400, {"error": "authorization_pending"}
        del devices[code]
        return grant("device")
    return 400, {"error": "unsupported_grant_type"}


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        redirect = query.get("redirect_uri", "")
        if (url.path != "/authorize" or query.get("client_id") != CLIENT_ID
                or not redirect.startswith("http://127.0.0.1:")
                or query.get("code_challenge_method") != "S256"):
            self.answer(400, {"error": "invalid_request"})
            return
        code = secrets.token_urlsafe(16)
        with LOCK:
            codes[code] = (query.get("code_challenge", ""), redirect)
        back = redirect + "?" + urllib.parse.urlencode({"code": code,
                                                        "state": query.get("state", "")})
        self.send_response(302)
        self.send_header("Location", back)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode("utf-8", "replace")))
        path = urllib.parse.urlsplit(self.path).path
        with LOCK:
            if path == "/token":
                self.answer(*token_endpoint(form))
            elif path == "/device":
                if form.get("client_id") != CLIENT_ID:
                    self.answer(401, {"error": "invalid_client"})
                    return
                code = issue("device")
                devices[code] = 0
                port = self.server.server_address[1]
                self.answer(200, {"device_code": code, "user_code": "TDNG-2024",
                                  "verification_uri": f"http://127.0.0.1:{port}/activate",
                                  "expires_in": 300, "interval": 1})
            elif path == "/introspect":
                token = form.get("token", "")
                live = access.get(token, 0) > time.time()
                count("introspect")
                self.answer(200, {"active": True, "username": USER} if live else
                            {"active": False})
            elif path == "/control/revoke-access":
                access.clear()
                self.answer(200, {})
            elif path == "/control/revoke-all":
                access.clear()
                refresh.clear()
                self.answer(200, {})
            else:
                self.answer(404, {"error": "not_found"})

    def log_message(self, *args):
        pass


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
