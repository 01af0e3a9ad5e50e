#!/usr/bin/env python3
"""A loopback IMAP relay that gives a Dovecot without OBJECTID (Debian 12's 2.3.19 has none)
the EMAILIDs of RFC 8474, for the tests of moves paired by them: a scripted stand-in for
what that real server cannot be made to do.

Clients reach it over TLS (the test's certificate); it reaches Dovecot's plain port on
127.0.0.1, which Dovecot counts as secure. It adds OBJECTID to every capability list,
asks Dovecot for X-GUID where a FETCH asks for EMAILID, and answers each X-GUID as
EMAILID (M<hash>): Dovecot keeps a Maildir message's GUID when the message moves, so the
id follows the message as RFC 8474 says an EMAILID does. Literals pass untouched both ways.

Prints its port on the first line; serves until its standard input closes or LIFETIME
seconds pass. Usage: objectid-proxy.py PORT CERT KEY."""
import asyncio
import hashlib
import re
import ssl
import sys

import loopback_helper

MAX_LINE = 1024 * 1024
LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")
GUID = re.compile(rb'X-GUID ("(?:[^"\\]|\\.)*"|[^ ()\r\n]+)', re.IGNORECASE)


def to_server(line):
    if re.search(rb" FETCH ", line, re.IGNORECASE):
        line = re.sub(rb"\bEMAILID\b", b"X-GUID", line, flags=re.IGNORECASE)
    return line


def email_id(match):
    guid = match.group(1).strip(b'"')
    return b"EMAILID (M" + hashlib.sha256(guid).hexdigest()[:24].encode() + b")"


def to_client(line):
    if line.upper().startswith(b"* CAPABILITY "):
        line = line[:-2] + b" OBJECTID\r\n"
    else:
        at = line.upper().find(b"[CAPABILITY ")
        if at >= 0:
            end = line.find(b"]", at)
            if end > 0:
                line = line[:end] + b" OBJECTID" + line[end:]
    return GUID.sub(email_id, line)


async def pump(reader, writer, rewrite):
    """Relays line by line, rewriting each line outside literals; literals go as they are."""
    try:
        while True:
            line = await reader.readuntil(b"\n")
            if len(line) > MAX_LINE:
                break
            writer.write(rewrite(line))
            literal = LITERAL.search(line)
            if literal:
                left = int(literal.group(1))
                while left > 0:
                    data = await reader.read(min(left, 64 * 1024))
                    if not data:
                        return
                    writer.write(data)
                    left -= len(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
            asyncio.CancelledError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main():
    target, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def handle(client_r, client_w):
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target,
                                                              limit=MAX_LINE)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pump(client_r, server_w, to_server),
                             pump(server_r, client_w, to_client))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context, limit=MAX_LINE)
    await loopback_helper.serve(server)


if __name__ == "__main__":
    loopback_helper.run(main)
