#!/usr/bin/env python3
"""Times the analytics API and the dashboard pages against a store of 10 calls and one of many.

    benchmarks/analytics.py [--calls 2000000] [--days 30] [--runs 20] [--bin .build/release/tollgate]
                            [--load .build/release/AnalyticsLoad] [--keep] [--postgres URL]
    benchmarks/analytics.py --recorder [--calls 100000] [--runs 3] [--postgres URL]

Each store is filled by AnalyticsLoad (benchmarks/AnalyticsLoad: synthetic calls spread over the
last `days` days, written through SQLiteRecordStore.insert, the recorder's batch path, which keeps
the analytics in the same transaction). Then `tollgate serve` runs on it and each query is asked
`runs` times over HTTP; the table gives p50 and p95 in ms for both stores, the ratio of the p50s,
and the gateway's resident memory before and after. Standard library only. Stores are kept under
/tmp/tollgate-analytics-bench-<calls> and reused when --keep is given. With --postgres, each store
is a database of its own on that server (tollgate_bench_<calls>, dropped and created again), filled
the same way; `psql` must be on the PATH. --recorder only times AnalyticsLoad's batch insert with
the analytics and without (TOLLGATE_LOAD_ANALYTICS=off), alternately, calls stamped as they are
made: what keeping the analytics costs a recorder.
"""
import argparse
import http.cookiejar
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

ADMIN_KEY = "bench-admin-key"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Database:
    """Where a store lives: a SQLite file under `path`, or with `postgres` (a server URL) a
    database of its own on that server, named after the number of calls."""

    def __init__(self, calls, postgres):
        self.path = f"/tmp/tollgate-analytics-bench-{calls}" + ("-pg" if postgres else "")
        self.url = None
        if postgres:
            base = urllib.parse.urlsplit(postgres)
            self.name = f"tollgate_bench_{calls}"
            self.admin = postgres
            self.url = urllib.parse.urlunsplit(base._replace(path="/" + self.name))

    def sql(self, statement):
        """Runs one statement; answers its rows as tuples of text."""
        if self.url is None:
            with sqlite3.connect(os.path.join(self.path, "tollgate.sqlite")) as db:
                return [tuple(str(v) for v in row) for row in db.execute(statement).fetchall()]
        out = subprocess.run(["psql", self.url, "-At", "-F", "|", "-c", statement], check=True, capture_output=True, text=True).stdout
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def reset(self):
        shutil.rmtree(self.path, ignore_errors=True)
        if self.url:
            for statement in (f"DROP DATABASE IF EXISTS {self.name}", f"CREATE DATABASE {self.name}"):
                subprocess.run(["psql", self.admin, "-q", "-c", statement], check=True, capture_output=True)

    def megabytes(self):
        if self.url:
            return int(self.sql(f"SELECT pg_database_size('{self.name}')")[0][0]) / 1e6
        return sum(os.path.getsize(os.path.join(self.path, f)) for f in os.listdir(self.path) if f.startswith("tollgate.sqlite")) / 1e6

    def storage_yaml(self):
        if self.url:
            return f"storage:\n  path: {self.path}\n  kind: postgres\n  postgres:\n    url: {self.url}\n"
        return f"storage:\n  path: {self.path}\n"


def fill(load, calls, days, keep, database):
    path = database.path
    marker = os.path.join(path, "load.json")
    if keep and os.path.exists(marker):
        return json.load(open(marker))
    database.reset()
    env = dict(os.environ, **({"TOLLGATE_LOAD_POSTGRES_URL": database.url} if database.url else {}))
    out = subprocess.run([load, path, str(calls), str(days)], check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads(out.strip().splitlines()[-1])
    # What the retention sweep would have done by now in a gateway that ran all along: minute rows
    # are kept for two days (done here so that the sweep does not run during the timings).
    cutoff = int((time.time() - 2 * 86400) * 1_000_000)
    database.sql(f"DELETE FROM analytics WHERE resolution = 60 AND bucket < {cutoff}")
    json.dump(result, open(marker, "w"))
    return result


class Gateway:
    def __init__(self, binary, database):
        config = os.path.join(database.path, "tollgate.yaml")
        with open(config, "w") as f:
            f.write(f"server:\n  host: 127.0.0.1\n  port: 0\n{database.storage_yaml()}admin:\n  key: {ADMIN_KEY}\n")
        self.process = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.process.stdout.readline()
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.url = m.group(1)
                break
        else:
            raise RuntimeError("tollgate did not start")
        jar = http.cookiejar.CookieJar()
        self.browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self.browser.open(self.url + "/dashboard/login", data=urllib.parse.urlencode({"key": ADMIN_KEY}).encode()).read()

    def rss_mb(self):
        for line in open(f"/proc/{self.process.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0

    def time(self, path, runs):
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            if path.startswith("/dashboard"):
                body = self.browser.open(self.url + path).read()
                assert b"<h1>" in body, path
            else:
                request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
                body = urllib.request.urlopen(request).read()
                assert json.loads(body)["error"] is None, body[:200]
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        return statistics.median(times), times[max(0, int(len(times) * 0.95 + 0.5) - 1)]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def queries():
    now = datetime.now(timezone.utc)
    day = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    month = (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        ("stats, a day", f"/v1/stats?since={day}"),
        ("stats by model, a day", f"/v1/stats?group_by=model&since={day}"),
        ("stats by property.environment, a day", f"/v1/stats?group_by=property.environment&since={day}"),
        ("stats by user, a day", f"/v1/stats?group_by=user&since={day}"),
        ("stats by model, a month", f"/v1/stats?group_by=model&since={month}"),
        ("stats by property.environment, a month", f"/v1/stats?group_by=property.environment&since={month}"),
        ("timeseries hourly by model, a day", f"/v1/stats/timeseries?interval=hour&group_by=model&since={day}"),
        ("timeseries daily by property.environment, a month", f"/v1/stats/timeseries?interval=day&group_by=property.environment&since={month}"),
        ("timeseries by minute, the last hour", "/v1/stats/timeseries?interval=minute"),
        ("dashboard overview, 24 hours", "/dashboard?period=24h"),
        ("dashboard overview, 30 days", "/dashboard?period=30d"),
        ("dashboard latency, 7 days", "/dashboard/latency?period=7d"),
        ("dashboard costs, 30 days", "/dashboard/costs?period=30d"),
    ]


def recorder(args):
    """The recorder's throughput through the batch insert with the analytics and without, `runs`
    times each, alternately, calls stamped as they are made (as a live recorder's are)."""
    rates = {"on": [], "off": []}
    for _ in range(args.runs):
        for mode in ("on", "off"):
            database = Database(f"recorder_{mode}", args.postgres)
            database.reset()
            env = dict(os.environ, TOLLGATE_LOAD_ANALYTICS=mode, **({"TOLLGATE_LOAD_POSTGRES_URL": database.url} if database.url else {}))
            out = subprocess.run([args.load, database.path, str(args.calls), "0"], check=True, capture_output=True, text=True, env=env).stdout
            rates[mode].append(json.loads(out.strip().splitlines()[-1])["calls_per_second"])
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    print(f"{args.calls:,} calls per run, {args.runs} runs each, {'PostgreSQL' if args.postgres else 'SQLite'}: "
          f"analytics on {on:,.0f} calls/s (runs: {', '.join(f'{r:,.0f}' for r in rates['on'])}), "
          f"off {off:,.0f} calls/s (runs: {', '.join(f'{r:,.0f}' for r in rates['off'])}); on ÷ off {on / off:.2f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2_000_000)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bin", default=os.path.join(REPO, ".build/release/tollgate"))
    parser.add_argument("--load", default=os.path.join(REPO, ".build/release/AnalyticsLoad"))
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--postgres", help="a PostgreSQL server URL: the stores are databases on it instead of SQLite files")
    parser.add_argument("--recorder", action="store_true", help="only the recorder's throughput with the analytics and without")
    args = parser.parse_args()
    if args.recorder:
        return recorder(args)

    results, loads, memory = {}, {}, {}
    for calls in (10, args.calls):
        print(f"filling a store with {calls} calls", file=sys.stderr)
        database = Database(calls, args.postgres)
        loads[calls] = fill(args.load, calls, args.days, args.keep, database)
        loads[calls]["megabytes"] = database.megabytes()
        loads[calls]["rows"] = {int(r): int(n) for r, n in database.sql("SELECT resolution, COUNT(*) FROM analytics GROUP BY resolution")}
        gateway = Gateway(args.bin, database)
        try:
            before = gateway.rss_mb()
            for name, path in queries():
                gateway.time(path, 2)  # warm
                results[(calls, name)] = gateway.time(path, args.runs)
            memory[calls] = (before, gateway.rss_mb())
        finally:
            gateway.stop()

    big = args.calls
    print(f"\n| query | 10 calls p50 / p95 ms | {big:,} calls p50 / p95 ms | p50 ratio |")
    print("|---|---|---|---|")
    for name, _ in queries():
        small, large = results[(10, name)], results[(big, name)]
        print(f"| {name} | {small[0]:.1f} / {small[1]:.1f} | {large[0]:.1f} / {large[1]:.1f} | {large[0] / small[0]:.2f}× |")
    for calls in (10, big):
        load = loads[calls]
        print(f"\n{calls:,} calls: stored at {load['calls_per_second']:.0f} calls/s through the batch insert "
              f"(rollup {load['rollup_seconds']:.1f} s of {load['insert_seconds'] + load['rollup_seconds']:.1f} s), "
              f"{load['megabytes']:.0f} MB on disk; analytics rows (minute / hour / day): "
              f"{load['rows'].get(60, 0):,} / {load['rows'].get(3600, 0):,} / {load['rows'].get(86400, 0):,}; "
              f"gateway RSS {memory[calls][0]:.0f} MB at start, {memory[calls][1]:.0f} MB after the queries")


if __name__ == "__main__":
    main()
