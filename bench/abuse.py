#!/usr/bin/env python3
"""Load generators for bench/abuse.sh (standard library only).

  abuse.py slowloris URL N SECONDS      hold N connections sending a partial head slowly
  abuse.py probe URL PATH SECONDS        sequential GETs on fresh connections; prints p50/p99
  abuse.py rss PID SECONDS               samples the resident memory; prints the peak (MiB)
  abuse.py png WIDTH HEIGHT BITS FILE    writes a transparent RGBA PNG (a gradient)
  abuse.py upload URL TOKEN FILE N       N parallel uploads of FILE; prints status counts
  abuse.py flood URL PATH N              N parallel GETs; prints status counts and p99
"""

import asyncio
import collections
import json
import statistics
import struct
import sys
import time
import urllib.parse
import zlib


def host_port(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port or 80


async def slowloris(url, n, seconds):
    host, port = host_port(url)
    held, failed = [], 0

    async def one():
        nonlocal failed
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            failed += 1
            return
        held.append(writer)
        try:
            writer.write(b"GET /api/v1/books HTTP/1.1\r\nHost: x\r\n")
            await writer.drain()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                await asyncio.sleep(5)
                writer.write(b"X-a: b\r\n")
                await writer.drain()
        except OSError:
            pass

    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(one()))
        if i % 500 == 499:
            await asyncio.sleep(0.05)
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"opened": len(held), "connect_failed": failed}))


async def get(host, port, path, timeout=10.0):
    started = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.read(64), timeout)
        writer.close()
        status = int(head.split()[1]) if head.startswith(b"HTTP/") else 0
    except (OSError, asyncio.TimeoutError, ValueError, IndexError):
        status = 0
    return status, (time.monotonic() - started) * 1000


def summary(results):
    counts = collections.Counter(str(s) for s, _ in results)
    times = sorted(t for _, t in results)
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))] if times else None
    return {"requests": len(results), "status": dict(counts), "p50_ms": p(0.5), "p99_ms": p(0.99),
            "max_ms": times[-1] if times else None}


async def probe(url, path, seconds):
    host, port = host_port(url)
    results = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        results.append(await get(host, port, path))
        await asyncio.sleep(0.05)
    print(json.dumps(summary(results)))


async def flood(url, path, n):
    host, port = host_port(url)
    results = await asyncio.gather(*[get(host, port, path, 30) for _ in range(n)])
    print(json.dumps(summary(results)))


def rss(pid, seconds):
    peak = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            break
        time.sleep(0.05)
    print(round(peak / 1024, 1))


def png(width, height, bits, path):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    parts = []
    for y in range(height):
        value = y * 255 // max(1, height - 1)
        pixel = bytes([value, 255 - value, 128, 200]) if bits == 8 else \
            struct.pack(">HHHH", value * 257, (255 - value) * 257, 32768, 51400)
        parts.append(comp.compress(b"\0" + pixel * width))
    parts.append(comp.flush())
    header = struct.pack(">IIBBBBB", width, height, bits, 6, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts))
                + chunk(b"IEND", b""))


async def upload(url, token, path, n):
    host, port = host_port(url)
    data = open(path, "rb").read()
    boundary = "abuse-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()

    async def one():
        started = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write((f"POST /api/v1/images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                          f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                          f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
            await writer.drain()
            head = await asyncio.wait_for(reader.read(64), 300)
            writer.close()
            status = int(head.split()[1])
        except (OSError, asyncio.TimeoutError, ValueError, IndexError):
            status = 0
        return status, (time.monotonic() - started) * 1000

    results = await asyncio.gather(*[one() for _ in range(n)])
    print(json.dumps(summary(results)))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "slowloris":
        asyncio.run(slowloris(args[0], int(args[1]), float(args[2])))
    elif cmd == "probe":
        asyncio.run(probe(args[0], args[1], float(args[2])))
    elif cmd == "flood":
        asyncio.run(flood(args[0], args[1], int(args[2])))
    elif cmd == "rss":
        rss(int(args[0]), float(args[1]))
    elif cmd == "png":
        png(int(args[0]), int(args[1]), int(args[2]), args[3])
    elif cmd == "upload":
        asyncio.run(upload(args[0], args[1], args[2], int(args[3])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
