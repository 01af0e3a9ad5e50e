#!/usr/bin/env python3
"""A loopback TCP proxy whose server-to-client direction carries at most RATE bytes a second,
like a slow link (for the progress test). Prints its port on the first line, serves until
its standard input closes or LIFETIME seconds pass. Usage: throttle-proxy.py PORT RATE."""
import asyncio
import sys
import time

LIFETIME = 300
CHUNK = 16 * 1024


async def pump(reader, writer, rate):
    start = time.monotonic()
    sent = 0
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
            sent += len(data)
            if rate:
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main():
    target, rate = int(sys.argv[1]), int(sys.argv[2])

    async def handle(client_r, client_w):
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pump(client_r, server_w, 0), pump(server_r, client_w, rate))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait_for(stdin_closed, LIFETIME)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except asyncio.TimeoutError:
        pass
