#!/usr/bin/env python3
"""Memory per open event stream: starts the given `atelier` binary on a new
SQLite database, opens N `/v1/events` streams to it, and prints the
server's resident memory before and with them open.

    ulimit -n 20000; scripts/stream-memory.py target/release/atelier 10000

BENCHMARKS.md compares builds with it (`make bench` measures the same
with the rest of its load before)."""
import asyncio
import os
import re
import subprocess
import sys
import tempfile

binary, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3000
database = f"sqlite://{tempfile.mkdtemp()}/atelier.db"
token = subprocess.run(
    [binary, "--database", database, "token", "create", "--user", "streams"], capture_output=True, text=True, check=True
).stdout.strip()
server = subprocess.Popen(
    [binary, "--database", database, "serve", "--addr", "127.0.0.1:0", "--no-demo-user", "--site-root", "target/site",
     "--rate-limit-per-minute", "0", "--max-streams-per-user", str(count + 10), "--workers", "1"],
    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "ATELIER_LOG": "warn"},
)
try:
    address = None
    for line in server.stdout:
        found = re.search(r"listening on http://([\d.]+):(\d+)", line)
        if found:
            address = (found.group(1), int(found.group(2)))
            break
    if address is None:
        sys.exit("the server did not say where it listens")

    def rss_mb():
        with open(f"/proc/{server.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    async def main():
        # A few ordinary requests first, so the figure is the streams' alone.
        for _ in range(20):
            reader, writer = await asyncio.open_connection(*address)
            writer.write(f"GET /v1/workstations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                         "Connection: close\r\n\r\n".encode())
            await reader.read()
            writer.close()
        await asyncio.sleep(1)
        before = rss_mb()
        streams = []
        for _ in range(count):
            reader, writer = await asyncio.open_connection(*address)
            writer.write(f"GET /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                         "Accept: text/event-stream\r\n\r\n".encode())
            streams.append((reader, writer))
        await asyncio.sleep(3)
        for reader, _ in streams[:5]:
            head = await asyncio.wait_for(reader.read(200), 5)
            assert b"200 OK" in head, head
        with_streams = rss_mb()
        print(f"{count} streams: server RSS {before:.1f} MB before, {with_streams:.1f} MB with them open "
              f"({(with_streams - before) * 1024 / count:.2f} KB per stream)")
        for _, writer in streams:
            writer.close()

    asyncio.run(main())
finally:
    server.kill()
    server.wait()
