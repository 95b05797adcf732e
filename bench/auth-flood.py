#!/usr/bin/env python3
"""bench/auth-flood.py URL PID LOGINS SIGNUPS: floods a running ipmat with parallel wrong
log-ins and sign-ups from many loopback source addresses (127.0.0.2-254, one "person" each),
while a probe sends GET /api/v1/books one after another. Prints, as `key: value` lines: the
status counts of each kind, the probe's p50/p99/max, the server's peak RSS (VmHWM) and its RSS
before, right after and 5 s after the flood, and the verified-password count from /metrics.

Standard library only (threads + http.client), so it runs wherever python3 does."""

import http.client
import json
import sys
import threading
import time
import urllib.parse
from collections import Counter


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def metric(host, port, name):
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return line.rsplit(" ", 1)[1]
    return "?"


def main():
    url, pid = sys.argv[1], int(sys.argv[2])
    logins, signups = int(sys.argv[3]), int(sys.argv[4])
    repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    parsed = urllib.parse.urlparse(url)
    host, port = parsed.hostname, parsed.port

    statuses = {"login": Counter(), "signup": Counter()}
    lock = threading.Lock()

    def request(kind, i, round_, start):
        # Each round has addresses and names of its own, so throttles see new clients.
        source = f"127.0.{round_}.{2 + i % 253}"
        if kind == "login":
            body = {"username": f"flood{round_}x{i}", "password": "wrong-password"}
            path = "/api/v1/auth/login"
        else:
            body = {"username": f"new{round_}x{i}", "password": "password123"}
            path = "/api/v1/auth/signup"
        start.wait()
        try:
            conn = http.client.HTTPConnection(
                host, port, timeout=60, source_address=(source, 0)
            )
            conn.request(
                "POST", path, json.dumps(body), {"Content-Type": "application/json"}
            )
            status = str(conn.getresponse().status)
            conn.close()
        except Exception as e:  # noqa: BLE001 - any failure is a result to count
            status = type(e).__name__
        with lock:
            statuses[kind][status] += 1

    latencies = []
    probing = threading.Event()
    probing.set()

    def probe():
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while probing.is_set():
            t = time.perf_counter()
            conn.request("GET", "/api/v1/books")
            conn.getresponse().read()
            latencies.append((time.perf_counter() - t) * 1000)
            time.sleep(0.005)

    before_rss = rss_kib(pid, "VmRSS")
    before_hwm = rss_kib(pid, "VmHWM")
    verified_before = metric(host, port, "ipmat_password_verifications_total")
    def flood(round_, when_ready=lambda: None):
        # All requests of a flood wait at one barrier and leave it together; answers the
        # seconds until the last one got its answer.
        start = threading.Barrier(logins + signups + 1)
        threads = [
            threading.Thread(target=request, args=(kind, i, round_, start))
            for kind, n in (("login", logins), ("signup", signups))
            for i in range(n)
        ]
        for t in threads:
            t.start()
        when_ready()
        began = time.perf_counter()
        start.wait()
        for t in threads:
            t.join()
        return time.perf_counter() - began

    prober = threading.Thread(target=probe)

    def start_probing():
        prober.start()
        time.sleep(0.2)  # a few probes before the flood

    flood_s = flood(0, start_probing)
    probing.clear()
    prober.join()
    after_rss = rss_kib(pid, "VmRSS")
    peak = rss_kib(pid, "VmHWM")
    time.sleep(5)
    settled_rss = rss_kib(pid, "VmRSS")

    # The same flood again, from other addresses: does the memory kept after the first one
    # get reused (RSS stays level) or does each flood add to it?
    after_each = [settled_rss]
    for round_ in range(1, repeats + 1):
        flood(round_)
        time.sleep(5)
        after_each.append(rss_kib(pid, "VmRSS"))

    lat = sorted(latencies)

    def pct(p):
        return lat[min(len(lat) - 1, int(len(lat) * p))] if lat else float("nan")

    out = {
        "flood": f"{logins} wrong log-ins + {signups} sign-ups at once, from 253 addresses"
        + (f"; then {repeats} more such floods (statuses and counts below are of all)" if repeats else ""),
        "flood_seconds": f"{flood_s:.2f}",
        "login_statuses": dict(sorted(statuses["login"].items())),
        "signup_statuses": dict(sorted(statuses["signup"].items())),
        "passwords_verified": f"{verified_before} -> "
        + metric(host, port, "ipmat_password_verifications_total"),
        "hash_bound_rejected": metric(host, port, "ipmat_bound_rejected_total"),
        "probe_requests": len(lat),
        "probe_p50_ms": f"{pct(0.50):.2f}",
        "probe_p99_ms": f"{pct(0.99):.2f}",
        "probe_max_ms": f"{lat[-1]:.2f}" if lat else "nan",
        "rss_before_mib": f"{before_rss / 1024:.1f}",
        "rss_peak_mib": f"{peak / 1024:.1f}"
        + (" (peak before the flood: %.1f)" % (before_hwm / 1024)),
        "rss_after_mib": f"{after_rss / 1024:.1f}",
        "rss_5s_after_mib": f"{settled_rss / 1024:.1f}",
        "rss_5s_after_each_flood_mib": ", ".join(f"{k / 1024:.1f}" for k in after_each),
        "rss_peak_after_all_floods_mib": f"{rss_kib(pid, 'VmHWM') / 1024:.1f}",
    }
    for k, v in out.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
