"""What the tests' loopback helpers (throttle-proxy.py, objectid-proxy.py) share: a helper
prints its port on its first line, then serves until its standard input closes (the test
is done with it, or died) or LIFETIME seconds pass."""
import asyncio
import sys

LIFETIME = 300


async def serve(server):
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait_for(stdin_closed, LIFETIME)


def run(main):
    try:
        asyncio.run(main())
    except asyncio.TimeoutError:
        pass
