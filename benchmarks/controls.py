#!/usr/bin/env python3
"""What the gateway controls (SPEC §7) cost, in one run, as ratios to a direct call.

    python3 benchmarks/controls.py [--rate 500] [--seconds 10] [--no-postgres]

Starts the fake provider and one Tollgate on SQLite (and one on a private PostgreSQL from
scripts/postgres), no webhook, and sends `rate` req/s with h2load for each case:

- direct: straight to the fake provider (the baseline);
- plain: through Tollgate with no control header;
- cache hit: `Helicone-Cache-Enabled: true` on one body (the first call fills the cache, every
  later one is a hit served from the store without the provider);
- rate limit: `Helicone-RateLimit-Policy` with a quota no call reaches (one store round trip per
  call, nothing refused).

For each: p50 and p99 latency, added over direct, and Tollgate's CPU per call (user + system over
the load window, recorder included). Prints a Markdown table for RESULTS.md. Uses the binaries
benchmarks/run builds (TOLLGATE_BIN to pick another).
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CASES = [
    ("plain", ()),
    ("cache hit", ("helicone-cache-enabled: true",)),
    ("rate limit", ("helicone-ratelimit-policy: 100000000;w=3600",)),
]


def measure(url, rate, seconds, scratch, tag, headers=(), proc=None):
    # One call first: it fills the cache for the cache case and warms the pool for all.
    h.http("POST", url, h.BODY, {"Content-Type": "application/json", "Authorization": "Bearer sk-bench",
                                 **dict(x.split(": ", 1) for x in headers)})
    cpu0 = proc.cpu_seconds() if proc else 0
    r = h.h2load(url, rate, seconds, scratch, tag, extra_headers=headers)
    cpu = (proc.cpu_seconds() - cpu0) if proc else None
    r["cpu_us"] = cpu / r["ok"] * 1e6 if cpu is not None and r["ok"] else None
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=500)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--no-postgres", action="store_true")
    a = ap.parse_args()

    scratch = tempfile.mkdtemp(prefix="tollgate-controls-")
    fake = h.start_fake(scratch)
    sink = h.start_sink(scratch)
    instances, pg = [], None
    rows = []
    try:
        direct = measure(f"http://127.0.0.1:{fake.port}/v1/chat/completions", a.rate, a.seconds, scratch, "direct")
        rows.append(("direct", "", direct))
        stores = [("SQLite", "")]
        if not a.no_postgres:
            pg = h.Postgres()
            stores.append(("PostgreSQL", f"  kind: postgres\n  postgres:\n    url: {pg.url}\n    schema: {pg.fresh_schema()}\n"))
        for store, storage in stores:
            tg = h.Tollgate(scratch, fake.port, sink, webhook=False, storage=storage)
            instances.append(tg)
            for name, headers in CASES:
                tag = f"{store}-{name}".replace(" ", "-")
                h.log(f"{store}: {name}")
                r = measure(f"{tg.base}/v1/chat/completions", a.rate, a.seconds, scratch, tag, headers, tg.proc)
                rows.append((store, name, r))
                time.sleep(1)
    finally:
        for tg in instances:
            tg.proc.stop()
        sink.stop()
        fake.stop()
        if pg:
            pg.stop()

    def ms(x):
        return "–" if x is None else f"{x:.2f}"

    print(f"\n{a.rate} req/s for {a.seconds} s each (first second dropped), one JSON answer of the fake provider; "
          f"Tollgate with SQLite or PostgreSQL recording, bodies kept, no webhook.\n")
    print("| store | case | p50 ms | p99 ms | added p50 / p99 over direct | Tollgate CPU per call | ok / sent |")
    print("|---|---|---|---|---|---|---|")
    base = rows[0][2]
    for store, name, r in rows:
        added = "" if not name else f"+{r['p50'] - base['p50']:.2f} / +{r['p99'] - base['p99']:.2f} ms" if r["p50"] and base["p50"] else "–"
        cpu = "" if r.get("cpu_us") is None else f"{r['cpu_us']:.0f} µs"
        print(f"| {store} | {name or 'direct'} | {ms(r['p50'])} | {ms(r['p99'])} | {added} | {cpu} | {r['ok']} / {r['sent']} |")


if __name__ == "__main__":
    main()
