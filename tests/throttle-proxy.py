#!/usr/bin/env python3
"""A loopback TCP proxy whose server-to-client direction carries at most RATE bytes a second
(0: as fast as it goes), like a slow link (for the progress and stop tests). With CUT, the
first connection is cut, both ways, once CUT bytes have gone from server to client: a link
that drops mid-download. Prints its port on the first line, serves until its standard input
closes or LIFETIME seconds pass. Usage: throttle-proxy.py PORT RATE [CUT]."""
import asyncio
import sys
import time

import loopback_helper

CHUNK = 16 * 1024


async def pump(reader, writer, rate, cut=None, close=True):
    start = time.monotonic()
    sent = 0
    try:
        while True:
            want = CHUNK if cut is None else min(CHUNK, cut["left"])
            if want <= 0:
                break
            data = await reader.read(want)
            if not data:
                break
            writer.write(data)
            await writer.drain()
            sent += len(data)
            if cut is not None:
                cut["left"] -= len(data)
            if rate:
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        if close:
            writer.close()


async def main():
    target, rate = int(sys.argv[1]), int(sys.argv[2])
    cut_after = int(sys.argv[3]) if len(sys.argv) > 3 else None
    connections = 0

    async def handle(client_r, client_w):
        nonlocal connections
        connections += 1
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_w.close()
            return
        if cut_after is None or connections > 1:
            await asyncio.gather(pump(client_r, server_w, 0), pump(server_r, client_w, rate))
            return
        cut = {"left": cut_after}
        down = asyncio.ensure_future(pump(server_r, client_w, rate, cut, close=False))
        up = asyncio.ensure_future(pump(client_r, server_w, 0, close=False))
        await down
        # The cut: the server goes, and the client gets an end of stream after exactly the
        # bytes counted. What the client still sends is read and dropped until it hangs up:
        # closing with it unread would reset the connection, and a reset throws away what
        # the client had not read yet, which would make the count a matter of luck.
        up.cancel()
        server_w.close()
        try:
            client_w.write_eof()

            async def drain():
                while await client_r.read(CHUNK):
                    pass
            await asyncio.wait_for(drain(), 30)
        except (ConnectionError, OSError, asyncio.TimeoutError):
            pass
        client_w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    await loopback_helper.serve(server)


if __name__ == "__main__":
    loopback_helper.run(main)
