#!/usr/bin/env python3
"""CPU per call of one Tollgate instance at a fixed rate, optionally under perf.

    python3 benchmarks/profile.py [--rate 1000] [--seconds 10] [--no-webhook] [--perf out.data]

Starts the fake provider, the webhook sink and one Tollgate (the harness's configuration: SQLite,
stored bodies, one webhook matching every call), sends `rate` req/s with h2load, waits for the
recorder and deliveries to settle, and prints Tollgate's user+system CPU per call over the whole
window (hot path, recording and deliveries), with the count check. This is the figure to compare
before and after a change: it barely moves with the machine's load, unlike throughput.
With --perf, `perf record -g` samples Tollgate for the load phase; read it with `perf report`.
--postgres keeps records and bodies in a private PostgreSQL (scripts/postgres); its CPU is not
counted. Uses the binaries benchmarks/run builds (TOLLGATE_BIN to pick another).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--no-webhook", action="store_true")
    ap.add_argument("--perf", metavar="OUT")
    ap.add_argument("--config-extra", default="", help="YAML appended to the instance's config")
    ap.add_argument("--postgres", action="store_true", help="records (and bodies) in a private PostgreSQL")
    a = ap.parse_args()

    scratch = tempfile.mkdtemp(prefix="tollgate-profile-")
    fake = h.start_fake(scratch)
    sink = h.start_sink(scratch)
    tg = perf = pg = None
    try:
        storage = ""
        if a.postgres:
            pg = h.Postgres()
            storage, _ = h.ScaleOut(pg, None).config(s3=False)
        tg = h.Tollgate(scratch, fake.port, sink, webhook=not a.no_webhook, extra=a.config_extra, storage=storage)
        url = f"{tg.base}/v1/chat/completions"
        h.h2load(url, 200, 2, scratch, "warm")  # connections and caches warm, then measure from here
        time.sleep(1)
        base_records = tg.recorded()
        base_valid = json.loads(h.http("GET", f"http://127.0.0.1:{sink.port}/control/stats")[1])["valid"]
        cpu0 = tg.proc.cpu_seconds()
        if a.perf:
            perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g", "-o", a.perf,
                                     "-p", str(tg.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = h.h2load(url, a.rate, a.seconds, scratch, "load")
        cpu_load = tg.proc.cpu_seconds() - cpu0
        at_end = json.loads(h.http("GET", f"http://127.0.0.1:{sink.port}/control/stats")[1])["valid"] - base_valid
        if perf:
            perf.send_signal(2)
            perf.wait(30)
        recorded = tg.recorded_settled(base_records + r["ok"]) - base_records
        deadline = time.time() + 30
        while True:
            valid = json.loads(h.http("GET", f"http://127.0.0.1:{sink.port}/control/stats")[1])["valid"] - base_valid
            if a.no_webhook or valid >= r["ok"] or time.time() > deadline:
                break
            time.sleep(0.5)
        cpu = tg.proc.cpu_seconds() - cpu0
        print(f"rate {r['rate']} req/s for {a.seconds} s: answered {r['ok']}, recorded {recorded}, "
              f"delivered {0 if a.no_webhook else valid}; p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms; "
              f"CPU {cpu:.2f} s = {cpu / max(1, r['ok']) * 1e6:.0f} us/call; RSS {tg.proc.status_kb('VmRSS') // 1024} MB; "
              f"when the load ended: CPU {cpu_load:.2f} s, delivered {at_end}")
    finally:
        if tg:
            tg.proc.stop()
        sink.stop()
        fake.stop()
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
