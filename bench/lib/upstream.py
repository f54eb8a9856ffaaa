#!/usr/bin/env python3
"""A slow upstream for the waiting scenarios: answers every request after
--delay-ms, keep-alive, any number of connections at once (asyncio).
Prints its port on stdout once it listens."""

import argparse
import asyncio

BODY = b"upstream says hi\n"


async def serve(reader, writer, delay):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(delay)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(BODY), BODY))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay-ms", type=int, default=100)
    args = parser.parse_args()
    delay = args.delay_ms / 1000
    server = await asyncio.start_server(lambda r, w: serve(r, w, delay), "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
