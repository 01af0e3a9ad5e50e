"""A loopback TCP proxy that delays every chunk by a fixed time in each direction, like a
real link's latency (not its bandwidth). It counts the bytes it carries and the client's
turns: the times a client wrote again only after the server had answered and more than the
delay since its own last write. Pipelined commands go out together and count once; a
command that waits for an answer counts again, so turns are the round trips a client waited
for. Used by bench/bench.py and, as a program, by tests/round-trip-relay.py."""
import asyncio
import threading


class DelayProxy:
    def __init__(self, target_port, delay_s, inspect=None):
        """inspect, if given, is called (on the proxy's thread) with each chunk a client
        sends, before it is passed on."""
        self.target_port = target_port
        self.delay = delay_s
        self.inspect = inspect
        self.bytes = 0
        self.turns = 0
        self.port = None
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)

    def _run(self, ready):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()

    async def _pump(self, reader, writer, on_chunk):
        queue = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - self._loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()
        task = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                self.bytes += len(data)
                on_chunk(data)
                queue.put_nowait((self._loop.time() + self.delay, data))
        except ConnectionError:
            pass
        queue.put_nowait((0, None))
        await task

    async def _handle(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        state = {"last_client": None, "answered": False}

        def client_chunk(data):
            now = self._loop.time()
            last = state["last_client"]
            if last is None or (state["answered"] and now - last > self.delay):
                self.turns += 1
            state["last_client"] = now
            state["answered"] = False
            if self.inspect is not None:
                self.inspect(data)

        def server_chunk(data):
            state["answered"] = True

        await asyncio.gather(self._pump(client_reader, server_writer, client_chunk),
                             self._pump(server_reader, client_writer, server_chunk),
                             return_exceptions=True)
