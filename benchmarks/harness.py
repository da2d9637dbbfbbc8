#!/usr/bin/env python3
"""Tollgate against direct, nginx and LiteLLM, every scenario for every target in one run.

Started by benchmarks/run, which builds and installs what this needs. Everything listens on
127.0.0.1 (OS-assigned ports, or free ports found by binding port 0), and everything started here
is stopped here. Prints one Markdown table and writes it, with the raw figures as JSON, under
benchmarks/.run/<time>/.

Scenarios (per target: direct to the fake provider, nginx, Tollgate, Tollgate PG+S3, LiteLLM):
  saturation  wrk, 64 connections, non-streaming chat completion: req/s, p50, p99
  fixed rate  h2load --rps at a rate well below saturation: p50, p99, added over direct
  streaming   20-chunk SSE, a few sequential clients: time to first body byte, total time
  webhooks    Tollgate at 1,000 req/s: deliveries/s, delay from response end to sink, counts
  memory      peak RSS (VmHWM) of each server; Tollgate's RSS over a soak

"Tollgate PG+S3" is the scale-out mode: records in a private PostgreSQL cluster (scripts/postgres,
fsync off, a fresh schema per scenario) and bodies in moto's S3 server (benchmarks/.venv), both on
127.0.0.1 and both stopped here. moto is a Python server, so its own PUT rate is measured too: it
may be what bounds that column. --no-pg-s3 leaves the column out.
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
FAKE_BIN = os.path.join(HERE, "FakeProvider/.build/release/FakeProvider")
PASS_BIN = os.path.join(REPO, ".build/release/PassThrough")
TOLLGATE_BIN = os.environ.get("TOLLGATE_BIN", os.path.join(REPO, ".build/release/tollgate"))
LITELLM_BIN = os.path.join(HERE, ".venv/bin/litellm")
MOTO_BIN = os.path.join(HERE, ".venv/bin/moto_server")
POSTGRES_SCRIPT = os.path.join(REPO, "scripts/postgres")
BUCKET = "tollgate-bench"
ADMIN_KEY = "bench-admin-key-0123456789abcdef"
MODEL = "gpt-4o-mini"
PROMPT = "Summarise the benchmark plan in one sentence. " * 4
BODY = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]})
STREAM_BODY = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "stream": True})
STREAM_TTFC_MS, STREAM_GAP_MS, STREAM_CHUNKS = 20, 2, 20

QUICK = dict(sat_s=4, warm_s=1, fixed_s=5, streams=40, webhook_s=8, drain_s=30, soak_s=30, rss_every_s=5)
FULL = dict(sat_s=20, warm_s=3, fixed_s=20, streams=200, webhook_s=30, drain_s=90, soak_s=300, rss_every_s=10)


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

class ProcessTree:
    """Memory and CPU of a process and its descendants, read from /proc."""
    pid = None

    def tree(self):
        """pid and all its descendants (nginx workers, LiteLLM's workers, PostgreSQL's backends)."""
        kids = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    kids.setdefault(ppid, []).append(int(d))
                except (OSError, IndexError, ValueError):
                    pass
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(kids.get(p, []))
        return out

    def status_kb(self, field):
        total = 0
        for pid in self.tree():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith(field + ":"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total

    def cpu_seconds(self):
        """User + system CPU time of this process and its descendants so far."""
        ticks = 0
        for pid in self.tree():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        return ticks / os.sysconf("SC_CLK_TCK")


class Proc(ProcessTree):
    """A server this run started: its output goes to a log file; stop() ends it (and only it)."""

    def __init__(self, name, argv, scratch, env=None, cwd=None):
        self.name = name
        self.logpath = os.path.join(scratch, f"{name}.log")
        self.logf = open(self.logpath, "wb")
        self.p = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                  start_new_session=True)
        self.pid = self.p.pid

    def wait_for(self, pattern, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.logpath, "rb") as f:
                m = re.search(pattern.encode(), f.read())
            if m:
                return m
            if self.p.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start (see {self.logpath})")

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)  # its own session: this process and its children only
            except ProcessLookupError:
                pass
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.p.wait(5)
        self.logf.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=30):
    req = urllib.request.Request(url, data=body.encode() if isinstance(body, str) else body, method=method,
                                 headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def wait_http(url, timeout=90, headers=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            http("GET", url, headers=headers, timeout=2)
            return
        except Exception:
            time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer")


# ---------------------------------------------------------------- servers

def start_fake(scratch):
    p = Proc("fake-provider", [FAKE_BIN, "--ttfc-ms", str(STREAM_TTFC_MS), "--gap-ms", str(STREAM_GAP_MS),
                               "--chunks", str(STREAM_CHUNKS), "--body-bytes", "400"], scratch)
    p.port = int(p.wait_for(r"listening on (\d+)").group(1))
    return p


def start_passthrough(scratch, upstream):
    """Hummingbird 2 + AsyncHTTPClient forwarding to the fake provider, recording nothing: the
    floor under Tollgate's own work (benchmarks/PassThrough)."""
    p = Proc("passthrough", [PASS_BIN, str(upstream)], scratch)
    p.port = int(p.wait_for(r"listening on (\d+)").group(1))
    return p


def start_sink(scratch):
    p = Proc("webhook-sink", [sys.executable, os.path.join(HERE, "webhook_sink.py")], scratch)
    p.port = int(p.wait_for(r"listening on (\d+)").group(1))
    return p


def start_nginx(scratch, upstream):
    port = free_port()
    d = os.path.join(scratch, "nginx")
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes auto;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    # nginx closes a client connection after 1,000 requests by default; h2load does not reconnect,
    # so a 20 s fixed-rate run over 32 connections stalled at 32,032 requests.
    keepalive_requests 10000000;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    upstream fake {{ server 127.0.0.1:{upstream}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        location / {{
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
""")
    p = Proc("nginx", ["nginx", "-p", d, "-c", conf, "-e", f"{d}/error.log"], scratch)
    p.port = port
    wait_http(f"http://127.0.0.1:{port}/health")
    return p


def start_litellm(scratch, upstream):
    port = free_port()
    conf = os.path.join(scratch, "litellm.yaml")
    with open(conf, "w") as f:
        f.write(f"""model_list:
  - model_name: {MODEL}
    litellm_params:
      model: openai/{MODEL}
      api_base: http://127.0.0.1:{upstream}/v1
      api_key: sk-bench
litellm_settings:
  telemetry: false
""")
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_TELEMETRY="False",
               LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY="true", LITELLM_LOG="ERROR",
               NO_DOCS="True", DISABLE_ADMIN_UI="True")
    p = Proc("litellm", [LITELLM_BIN, "--config", conf, "--host", "127.0.0.1", "--port", str(port),
                         "--num_workers", "1"], scratch, env=env, cwd=scratch)
    p.port = port
    wait_http(f"http://127.0.0.1:{port}/health/liveliness", timeout=180)
    return p


class Postgres(ProcessTree):
    """A private PostgreSQL cluster from scripts/postgres (fresh data directory, 127.0.0.1, a free
    port, fsync off). pg_ctl daemonises the server, so it is not our child: stop() asks the script
    to stop it, and the /proc figures follow the postmaster's pid from its pid file."""

    def __init__(self):
        out = subprocess.run([POSTGRES_SCRIPT, "start"], capture_output=True, text=True)
        env = dict(re.findall(r"^export (\w+)=(\S+)$", out.stdout, re.M))
        self.dir = env.get("TOLLGATE_TEST_POSTGRES_DIR")
        self.url = env.get("TOLLGATE_TEST_POSTGRES_URL")
        if out.returncode != 0 or not self.url:
            self.stop()
            raise RuntimeError(f"scripts/postgres start failed: {out.stderr.strip()[-500:]}")
        try:
            with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
                self.pid = int(f.readline())
            with open(os.path.join(self.dir, "data", "PG_VERSION")) as f:
                self.version = f.read().strip()
        except (OSError, ValueError):
            self.stop()
            raise
        self.schemas = 0

    def fresh_schema(self):
        """A schema no earlier instance used: Tollgate creates it and its tables on start."""
        self.schemas += 1
        return f"bench_{self.schemas}"

    def stop(self):
        if self.dir:
            subprocess.run([POSTGRES_SCRIPT, "stop", self.dir], capture_output=True)
            self.dir = None


def start_moto(scratch):
    """moto's S3 server with authentication off (it then accepts any signature), and the bucket."""
    port = free_port()
    p = Proc("moto", [MOTO_BIN, "-H", "127.0.0.1", "-p", str(port)], scratch)
    p.port = port
    p.url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{p.url}/moto-api/", timeout=60)
        http("PUT", f"{p.url}/{BUCKET}")
    except Exception:
        p.stop()
        raise
    return p


def moto_version():
    out = subprocess.run([os.path.join(os.path.dirname(MOTO_BIN), "python"), "-c", "import moto; print(moto.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


def moto_capacity(moto, scratch, seconds=3):
    """moto's own ceiling: wrk putting new ~1.2 KB objects (a Tollgate body document's size) over
    16 connections, the number of uploads Tollgate's recorder keeps in flight."""
    script = os.path.join(scratch, "put.lua")
    with open(script, "w") as f:
        f.write('n = 0\nbody = string.rep("x", 1200)\n'
                'request = function()\n  n = n + 1\n'
                '  return wrk.format("PUT", "/%s/capacity/" .. n .. ".json", {["Content-Type"] = "application/json"}, body)\n'
                'end\n' % BUCKET)
    out = subprocess.run(["wrk", "-t1", "-c16", f"-d{seconds}s", "-s", script, moto.url],
                         capture_output=True, text=True).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": float(m.group(1)) if m else 0.0, "non2xx": int(non2xx.group(1)) if non2xx else 0}


class ScaleOut:
    """The PostgreSQL cluster and the S3 endpoint the "tollgate-pg-s3" instances share."""

    def __init__(self, postgres, moto):
        self.postgres, self.moto = postgres, moto

    def config(self, s3=True):
        """(lines under `storage:`, top-level YAML) for one instance, on a fresh schema; without
        `s3` the bodies stay in PostgreSQL beside the records."""
        storage = f"""  kind: postgres
  postgres:
    url: {self.postgres.url}
    schema: {self.postgres.fresh_schema()}
"""
        if not s3:
            return storage, ""
        bodies = f"""bodies:
  kind: s3
  s3:
    endpoint: {self.moto.url}
    bucket: {BUCKET}
    region: us-east-1
    path_style: true
    access_key_id: bench
    secret_access_key: bench-secret
"""
        return storage, bodies


class Tollgate:
    """One Tollgate instance with a fresh data folder: SQLite recording, stored bodies (the
    default) and one webhook matching every call, created through the API. `storage` is YAML
    added under `storage:` (the PostgreSQL store), `extra` YAML appended at the top level.
    `still_s` / `settle_timeout_s`: how long recorded_settled waits for a recorder that has stopped
    moving / in all (a recorder behind a slow S3 endpoint advances a batch at a time)."""
    count = 0

    def __init__(self, scratch, upstream, sink, webhook=True, extra="", storage="", still_s=1, settle_timeout_s=20):
        Tollgate.count += 1
        self.still_s, self.settle_timeout_s = still_s, settle_timeout_s
        d = os.path.join(scratch, f"tollgate-{Tollgate.count}")
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "tollgate.yaml")
        with open(conf, "w") as f:
            f.write(f"""server:
  host: 127.0.0.1
  port: 0
storage:
  path: {d}/data
{storage}admin:
  key: {ADMIN_KEY}
providers:
  openai:
    base_url: http://127.0.0.1:{upstream}
    format: openai
  anthropic:
    base_url: http://127.0.0.1:{upstream}
    format: anthropic
webhooks:
  allowed_private_hosts: [127.0.0.1]
""" + extra)
        self.proc = Proc(f"tollgate-{Tollgate.count}", [TOLLGATE_BIN, "serve", "--config", conf,
                                                         "--log-level", "warning"], scratch, cwd=d)
        try:
            self.setup(sink, webhook)
        except Exception:  # the caller never gets the instance, so it cannot stop it
            self.proc.stop()
            raise

    def setup(self, sink, webhook):
        self.port = int(self.proc.wait_for(r"listening on http://[\d.]+:(\d+)").group(1))
        self.pid = self.proc.pid
        self.base = f"http://127.0.0.1:{self.port}"
        auth = {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"}
        status, body = http("POST", f"{self.base}/v1/webhooks",
                            json.dumps({"destination": f"http://127.0.0.1:{sink.port}/hook"}), auth)
        self.webhook = json.loads(body)["data"]
        http("POST", f"http://127.0.0.1:{sink.port}/control/key", self.webhook["hmac_key"])
        if not webhook:  # a diagnostic instance: the same, less the webhook
            http("DELETE", f"{self.base}/v1/webhooks/{self.webhook['id']}", headers=auth)

    def recorded(self):
        _, body = http("GET", f"{self.base}/v1/stats?group_by=model", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        return int(sum(row["count"] for row in json.loads(body)["data"]))

    def recorded_settled(self, expected):
        """Records written once the recorder has caught up (or stopped moving for still_s)."""
        deadline, last, since = time.time() + self.settle_timeout_s, -1, time.time()
        while True:
            n = self.recorded()
            now = time.time()
            if n != last:
                last, since = n, now
            if n >= expected or now - since >= self.still_s or now > deadline:
                return n
            time.sleep(1)

    def metric(self, name):
        _, body = http("GET", f"{self.base}/metrics")
        total = 0.0
        for line in body.decode().splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total


# ---------------------------------------------------------------- load

def wrk(url, seconds, scratch, connections=64):
    script = os.path.join(scratch, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n'
                'wrk.headers["Authorization"] = "Bearer sk-bench"\n' % json.dumps(BODY))
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
                          "-s", script, url], capture_output=True, text=True).stdout

    def lat(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else None

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    total = re.search(r"(\d+) requests in", out)
    return {"rps": float(rps.group(1)) if rps else 0.0, "p50": lat(50), "p99": lat(99),
            "requests": int(total.group(1)) if total else 0, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1) if errors else "", "raw": out}


def sink_capacity(sink, scratch, seconds=3):
    """The sink's own ceiling: wrk posting a Tollgate-sized signed delivery over 8 connections
    (Tollgate's default webhooks.max_per_destination), the same number of rejected duplicates."""
    import hashlib, hmac
    key = "whk_sink_selftest"
    http("POST", f"http://127.0.0.1:{sink.port}/control/key", key)
    body = json.dumps({"request_id": "00000000-0000-0000-0000-000000000000", "request_body": BODY,
                       "response_body": "x" * 1200, "request_response_url": "http://127.0.0.1/v1/bodies/" + "a" * 90,
                       "model": MODEL, "provider": "openai", "metadata": {"cost": 0.0001, "promptTokens": 60,
                       "completionTokens": 100, "totalTokens": 160, "latencyMs": 1}, "properties": {},
                       "status": 200, "stream": False, "created_at": "2026-01-01T00:00:00.000Z"}, separators=(",", ":"))
    sig = hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()
    script = os.path.join(scratch, "hook.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Helicone-Signature"] = "%s"\n'
                'wrk.headers["Content-Type"] = "application/json"\n' % (json.dumps(body), sig))
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", script, f"http://127.0.0.1:{sink.port}/hook"],
                         capture_output=True, text=True).stdout
    stats = json.loads(http("GET", f"http://127.0.0.1:{sink.port}/control/stats")[1])
    http("POST", f"http://127.0.0.1:{sink.port}/control/reset")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return {"rps": float(m.group(1)) if m else 0.0, "valid": stats["valid"], "deliveries": stats["deliveries"]}


def h2load(url, rate, seconds, scratch, tag, extra_headers=()):
    """Fixed-rate load; per-request latencies from h2load's log file (first second dropped)."""
    clients = max(1, min(32, rate // 50))
    per = max(1, rate // clients)
    n = per * clients * seconds
    body = os.path.join(scratch, "body.json")
    with open(body, "w") as f:
        f.write(BODY)
    logf = os.path.join(scratch, f"h2load-{tag}.tsv")
    argv = ["h2load", "--h1", "-n", str(n), "-c", str(clients), "--rps", str(per), "-d", body,
            "-H", "content-type: application/json", "-H", "authorization: Bearer sk-bench", "--log-file", logf]
    for h in extra_headers:
        argv += ["-H", h]
    out = subprocess.run(argv + [url], capture_output=True, text=True).stdout
    rows = []
    with open(logf) as f:
        for line in f:
            start, status, dur = line.split("\t")
            rows.append((int(start), int(status), int(dur)))
    if not rows:
        return {"rate": per * clients, "p50": None, "p99": None, "ok": 0, "sent": 0, "raw": out}
    t0 = min(r[0] for r in rows)
    kept = sorted(r[2] / 1000.0 for r in rows if r[0] - t0 >= 1_000_000 and 200 <= r[1] < 300)
    ok = sum(1 for r in rows if 200 <= r[1] < 300)
    span = (max(r[0] + r[2] for r in rows) - t0) / 1e6
    return {"rate": per * clients, "achieved": len(rows) / span if span else 0, "p50": pct(kept, 0.50),
            "p99": pct(kept, 0.99), "ok": ok, "sent": len(rows), "requested": n, "raw": out,
            "ends": [(r[0] + r[2]) / 1e6 for r in rows if 200 <= r[1] < 300]}


def pct(sorted_values, p):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


def one_stream(host, port, path):
    """One streaming call on a fresh connection: (ms to the first body byte, ms to the last)."""
    req = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
           f"Authorization: Bearer sk-bench\r\nAccept: text/event-stream\r\nContent-Length: {len(STREAM_BODY)}\r\n"
           f"Connection: close\r\n\r\n{STREAM_BODY}").encode()
    s = socket.create_connection((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    t0 = time.perf_counter()
    s.sendall(req)
    buf = b""
    first = None
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            raise RuntimeError("closed before headers")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    chunked = b"transfer-encoding: chunked" in head.lower()
    m = re.search(rb"content-length:\s*(\d+)", head.lower())
    length = int(m.group(1)) if m else None
    body = rest
    if body:
        first = time.perf_counter()
    while True:
        if chunked and body.endswith(b"0\r\n\r\n"):
            break
        if length is not None and len(body) >= length:
            break
        data = s.recv(65536)
        if not data:
            break
        if first is None:
            first = time.perf_counter()
        body += data
    end = time.perf_counter()
    s.close()
    if b"[DONE]" not in body:
        raise RuntimeError("stream ended without [DONE]")
    return (first - t0) * 1000, (end - t0) * 1000


def streams(port, path, count, concurrency=2):
    results, errors = [], []
    lock = threading.Lock()
    todo = list(range(count))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            try:
                r = one_stream("127.0.0.1", port, path)
                with lock:
                    results.append(r)
            except Exception as e:  # counted, shown in the table
                with lock:
                    errors.append(str(e))

    for _ in range(3):  # warm-up
        try:
            one_stream("127.0.0.1", port, path)
        except Exception:
            pass
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ttfb = sorted(r[0] for r in results)
    total = sorted(r[1] for r in results)
    return {"ttfb_p50": pct(ttfb, 0.5), "ttfb_p99": pct(ttfb, 0.99), "total_p50": pct(total, 0.5),
            "total_p99": pct(total, 0.99), "ok": len(results), "errors": len(errors), "error_sample": errors[:3]}


# ---------------------------------------------------------------- run

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--fixed-rate", type=int, default=2000)
    ap.add_argument("--webhook-rate", type=int, default=1000)
    ap.add_argument("--no-pg-s3", action="store_true", help="leave out Tollgate on PostgreSQL + S3")
    args = ap.parse_args()
    # SIGTERM would otherwise end this process without its finally: every server here runs in its
    # own session (and PostgreSQL is a daemon), so none of them would be stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cfg = QUICK if args.quick else FULL
    stamp = time.strftime("%Y%m%d-%H%M%S")
    scratch = os.path.join(HERE, ".run", stamp + ("-quick" if args.quick else ""))
    os.makedirs(scratch, exist_ok=True)
    started = time.time()
    procs = []
    R = {"mode": "quick" if args.quick else "full", "config": cfg, "targets": {}}
    peak = {}

    def note_peak(name, proc):
        peak[name] = max(peak.get(name, 0), proc.status_kb("VmHWM"))

    def sink_stats():
        return json.loads(http("GET", f"http://127.0.0.1:{sink.port}/control/stats")[1])

    try:
        fake = start_fake(scratch); procs.append(fake)
        sink = start_sink(scratch); procs.append(sink)
        R["sink_capacity"] = sink_capacity(sink, scratch)
        log(f"fake provider on {fake.port}, webhook sink on {sink.port} (verifies {R['sink_capacity']['rps']:.0f} signed deliveries/s); starting LiteLLM")
        lite_box = {}
        lite_thread = threading.Thread(target=lambda: lite_box.update(p=start_litellm(scratch, fake.port)))
        lite_thread.start()
        nginx = start_nginx(scratch, fake.port); procs.append(nginx)
        passthrough = start_passthrough(scratch, fake.port) if os.path.exists(PASS_BIN) else None
        if passthrough:
            procs.append(passthrough)
        lite_thread.join()
        if "p" not in lite_box:
            raise RuntimeError("LiteLLM did not start")
        lite = lite_box["p"]; procs.append(lite)
        log(f"nginx on {nginx.port}, LiteLLM on {lite.port}")
        scale = None
        if not args.no_pg_s3:  # started after LiteLLM is ours to stop, so a failure here leaks nothing
            pg = Postgres(); procs.append(pg)
            moto = start_moto(scratch); procs.append(moto)
            scale = ScaleOut(pg, moto)
            R["moto_capacity"] = moto_capacity(moto, scratch)
            R["scale_out_versions"] = {"postgres": pg.version, "moto": moto_version()}
            log(f"PostgreSQL {pg.version} at {pg.url}, moto S3 on {moto.port} (stores {R['moto_capacity']['rps']:.0f} new objects/s alone)")
        pg_s3 = [] if scale is None else ["tollgate-pg-s3"]

        chat = "/v1/chat/completions"
        fixed_targets = {
            "direct": (fake.port, chat), "nginx": (nginx.port, chat), "litellm": (lite.port, chat),
        }
        if passthrough:
            fixed_targets["passthrough"] = (passthrough.port, chat)
        tollgate_path = "/openai/v1/chat/completions"

        servers = {"direct": fake, "nginx": nginx, "litellm": lite, "passthrough": passthrough}
        hwm = {}

        def target(name):
            """(port, path, Tollgate or None); every Tollgate scenario gets a fresh instance (and
            on PostgreSQL a fresh schema)."""
            if not name.startswith("tollgate"):
                return fixed_targets[name] + (None,)
            if name.startswith("tollgate-pg"):
                storage, extra = scale.config(s3=name == "tollgate-pg-s3")
                # a batch of 500 is written once all its bodies are in moto, which stores a few hundred a second
                opts = dict(storage=storage, extra=extra, still_s=5, settle_timeout_s=120)
            else:
                opts = {}
            tg = Tollgate(scratch, fake.port, sink, webhook=name != "tollgate-no-webhook", **opts)
            procs.append(tg.proc)
            return tg.port, tollgate_path, tg

        def backend_cpu():
            """CPU seconds so far of PostgreSQL (all its processes) and moto: work the PG+S3
            instance hands off, which its own CPU figure does not show."""
            return scale.postgres.cpu_seconds() + scale.moto.cpu_seconds()

        def retire(tg, scenario):
            hwm[scenario] = tg.proc.status_kb("VmHWM")
            tg.proc.stop()
            procs.remove(tg.proc)
            http("POST", f"http://127.0.0.1:{sink.port}/control/reset")

        # --- saturation
        sat = {}
        # tollgate-pg (bodies in PostgreSQL) is a diagnostic: what of the PG+S3 figure is moto's
        # passthrough (Hummingbird + AsyncHTTPClient, nothing recorded) is a diagnostic: the floor
        for name in (["direct", "nginx", "litellm"] + (["passthrough"] if passthrough else []) + ["tollgate", "tollgate-no-webhook"]
                     + pg_s3 + (["tollgate-pg"] if pg_s3 else [])):
            port, path, tg = target(name)
            url = f"http://127.0.0.1:{port}{path}"
            warm = wrk(url, cfg["warm_s"], scratch)
            server = tg.proc if tg else servers[name]
            cpu0 = server.cpu_seconds()
            r = wrk(url, cfg["sat_s"], scratch)
            r["cpu_us_per_request"] = (server.cpu_seconds() - cpu0) / max(1, r["requests"]) * 1e6
            r["answered_incl_warmup"] = warm["requests"] + r["requests"]
            sat[name] = r
            log(f"saturation {name}: {r['rps']:.0f} req/s p50 {r['p50']} ms p99 {r['p99']} ms non2xx {r['non2xx']} {r['socket_errors']}")
            if tg:
                r["tollgate_recorded"] = tg.recorded_settled(r["answered_incl_warmup"])
                r["tollgate_dropped"] = tg.metric("tollgate_records_dropped_total")
                r["webhook_delivered_during"] = sink_stats()["valid"]
                if name == "tollgate-pg-s3":
                    r["tollgate_upload_failures"] = tg.metric("tollgate_body_upload_failures_total")
                    R["scale_out_backends_hwm_kb"] = {"postgres_all_processes": scale.postgres.status_kb("VmHWM"),
                                                      "moto": scale.moto.status_kb("VmHWM")}
                retire(tg, "saturation" if name == "tollgate" else name)
        note_peak("direct", fake); note_peak("nginx", nginx); note_peak("litellm", lite)
        R["saturation"] = {k: {kk: vv for kk, vv in v.items() if kk != "raw"} for k, v in sat.items()}

        # --- fixed rate: the same rate for direct, nginx and Tollgate; LiteLLM at a rate it can
        # sustain, with direct measured again at that rate as its baseline
        rate = min(args.fixed_rate, int(0.5 * min(sat[n]["rps"] for n in ["direct", "nginx", "tollgate"])))
        rate = max(50, rate // 50 * 50)
        lite_rate = max(10, min(rate, int(0.5 * sat["litellm"]["rps"])) // 10 * 10)
        fixed = {}
        for name in ["direct", "nginx", "litellm", "tollgate"] + pg_s3:
            port, path, tg = target(name)
            server = tg.proc if tg else servers[name]
            cpu0 = server.cpu_seconds()
            backend0 = backend_cpu() if name == "tollgate-pg-s3" else 0
            r = h2load(f"http://127.0.0.1:{port}{path}", lite_rate if name == "litellm" else rate, cfg["fixed_s"], scratch, name)
            if name == "tollgate-pg-s3":
                # its recorder's S3 and PostgreSQL work can trail the load: count the CPU once it is done
                r["recorded"] = tg.recorded_settled(r["ok"])
                r["dropped"] = tg.metric("tollgate_records_dropped_total")
                r["backend_cpu_us_per_request"] = (backend_cpu() - backend0) / max(1, r["ok"]) * 1e6
            r["cpu_us_per_request"] = (server.cpu_seconds() - cpu0) / max(1, r["ok"]) * 1e6
            r.pop("ends", None)
            fixed[name] = r
            log(f"fixed {name} @ {r['rate']}/s: achieved {r.get('achieved', 0):.0f}/s p50 {r['p50']} ms p99 {r['p99']} ms ok {r['ok']}/{r['sent']}")
            if tg:
                retire(tg, "fixed" if name == "tollgate" else f"fixed {name}")
        if lite_rate != rate:
            r = h2load(f"http://127.0.0.1:{fake.port}{chat}", lite_rate, cfg["fixed_s"], scratch, "direct-lite")
            r.pop("ends", None)
            fixed["direct@litellm_rate"] = r
            log(f"fixed direct @ {r['rate']}/s: p50 {r['p50']} ms p99 {r['p99']} ms")
        R["fixed"] = {k: {kk: vv for kk, vv in v.items() if kk != "raw"} for k, v in fixed.items()}
        R["fixed_rate"], R["litellm_rate"] = rate, lite_rate

        # --- streaming
        st = {}
        for name in ["direct", "nginx", "litellm", "tollgate"] + pg_s3:
            port, path, tg = target(name)
            st[name] = streams(port, path, cfg["streams"])
            log(f"stream {name}: ttfb p50 {st[name]['ttfb_p50']:.2f} ms total p50 {st[name]['total_p50']:.2f} ms ok {st[name]['ok']} errors {st[name]['errors']}")
            if tg:
                retire(tg, "streaming" if name == "tollgate" else f"streaming {name}")
        R["streaming"] = st

        # --- webhooks at a fixed rate through each Tollgate
        def webhooks(name):
            _, _, tg = target(name)
            r = h2load(f"{tg.base}{tollgate_path}", args.webhook_rate, cfg["webhook_s"], scratch,
                       "webhooks" if name == "tollgate" else f"webhooks-{name}")
            load_end = max(r.pop("ends")) if r["ok"] else time.time()
            sent = r["ok"]
            # behind moto, deliveries trail the load by far more; the stall check below still ends a stuck drain
            deadline = time.time() + cfg["drain_s"] * (4 if name == "tollgate-pg-s3" else 1)
            last, last_change = -1, time.time()
            while time.time() < deadline:
                s = sink_stats()
                if s["unique"] >= sent:
                    break
                if s["unique"] != last:
                    last, last_change = s["unique"], time.time()
                elif time.time() - last_change > 15:
                    break
                time.sleep(0.5)
            time.sleep(1)
            s = sink_stats()
            wh = {"rate": r["rate"], "sent": sent, "requests_sent": r["sent"], "recorded": tg.recorded_settled(sent),
                  "delivered": s["unique"], "bad_signature": s["bad_signature"], "duplicates": s["duplicates"],
                  "unparsed": s["unparsed"], "delay_p50_ms": s["delay_p50_ms"], "delay_p99_ms": s["delay_p99_ms"],
                  "delay_max_ms": s["delay_max_ms"], "dropped": tg.metric("tollgate_records_dropped_total"),
                  "drain_after_load_s": (s["last_arrival"] - load_end) if s["last_arrival"] else None,
                  "deliveries_per_s": (s["valid"] / s["span_s"]) if s["span_s"] else None,
                  "call_p50": r["p50"], "call_p99": r["p99"]}
            log(f"webhooks {name}: {wh}")
            retire(tg, "webhooks" if name == "tollgate" else f"webhooks {name}")
            return wh

        R["webhooks"] = webhooks("tollgate")
        if pg_s3:
            R["webhooks_pg_s3"] = webhooks("tollgate-pg-s3")

        # --- soak: Tollgate's RSS under a steady load
        _, _, tg = target("tollgate")
        samples = []
        soak_rate = min(args.webhook_rate, rate)
        box = {}
        th = threading.Thread(target=lambda: box.update(r=h2load(f"{tg.base}{tollgate_path}", soak_rate, cfg["soak_s"], scratch, "soak")))
        t0 = time.time()
        th.start()
        while th.is_alive():
            samples.append((round(time.time() - t0, 1), tg.proc.status_kb("VmRSS")))
            th.join(cfg["rss_every_s"])
        samples.append((round(time.time() - t0, 1), tg.proc.status_kb("VmRSS")))
        soak = box.get("r", {})
        soak.pop("ends", None)
        soak.pop("raw", None)
        time.sleep(2)
        R["soak"] = {"rate": soak_rate, "seconds": cfg["soak_s"], "rss_kb": samples, "calls_ok": soak.get("ok"),
                     "recorded": tg.recorded(), "delivered": sink_stats()["unique"], "p50": soak.get("p50"), "p99": soak.get("p99")}
        log(f"soak: RSS samples (s, KB) {samples}")
        retire(tg, "soak")

        note_peak("direct", fake); note_peak("nginx", nginx); note_peak("litellm", lite)
        peak["tollgate"] = hwm["saturation"]
        if pg_s3:
            peak["tollgate-pg-s3"] = hwm["tollgate-pg-s3"]
        R["peak_rss_kb"] = peak
        R["tollgate_hwm_kb_by_scenario"] = hwm
    finally:
        for p in reversed(procs):
            p.stop()
    R["elapsed_s"] = round(time.time() - started)
    R["machine"] = machine()
    table = render(R)
    with open(os.path.join(scratch, "results.json"), "w") as f:
        json.dump(R, f, indent=1)
    with open(os.path.join(scratch, "table.md"), "w") as f:
        f.write(table)
    print(table)
    log(f"done in {R['elapsed_s']} s; raw figures in {scratch}/results.json")


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "Sources", "Package.swift"],
                           capture_output=True, text=True).stdout.strip()
    commit += " (+ uncommitted Sources changes)" if dirty else ""
    if os.environ.get("TOLLGATE_BIN"):  # measured a binary built elsewhere: say so, with its build time
        built = datetime.fromtimestamp(os.path.getmtime(TOLLGATE_BIN), timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        commit = f"HEAD {commit}, Tollgate binary {TOLLGATE_BIN} built {built}"
    return {"nproc": os.cpu_count(), "cpu": cpu, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "commit": commit,
            "load_before": open("/proc/loadavg").read().split()[:3]}


# ---------------------------------------------------------------- the table

def f0(x):
    return "—" if x is None else f"{x:,.0f}"


def f2(x):
    return "—" if x is None else (f"{x:.2f}" if abs(x) < 100 else f"{x:,.0f}")


def ratio(a, b):
    if a is None or b in (None, 0):
        return ""
    r = a / b
    return f" ({r:.2f}×)" if abs(r) >= 0.1 else f" ({r:.3f}×)"


def render(R):
    sat, fx, st, wh, pk = R["saturation"], R["fixed"], R["streaming"], R["webhooks"], R["peak_rss_kb"]
    scale = "tollgate-pg-s3" in sat
    order = ["direct", "nginx", "tollgate"] + (["tollgate-pg-s3"] if scale else []) + ["litellm"]
    tollgates = [n for n in order if n.startswith("tollgate")]
    whs = {"tollgate": wh, "tollgate-pg-s3": R.get("webhooks_pg_s3")}
    rows = []

    def row(label, cells, note=""):
        rows.append(f"| {label} | " + " | ".join(cells) + f" | {note} |")

    def only(cells, blank=""):
        """Cells for a figure only some targets have, the others blank."""
        return [cells.get(n, blank) for n in order]

    row("saturation req/s (64 conn)", [f0(sat[n]["rps"]) + ratio(sat[n]["rps"], sat["nginx"]["rps"]) for n in order],
        "× = of nginx")
    row("saturation p50 / p99 ms", [f"{f2(sat[n]['p50'])} / {f2(sat[n]['p99'])}" for n in order])
    row("Tollgate saturation: answered / recorded / dropped",
        only({n: f"{sat[n]['answered_incl_warmup']:,} / {sat[n].get('tollgate_recorded', 0):,} / {sat[n].get('tollgate_dropped', 0):,.0f}" for n in tollgates}),
        "incl. warm-up; dropped = tollgate_records_dropped_total")
    if scale:
        row("S3 body uploads failed (kept in PostgreSQL)", only({"tollgate-pg-s3": f0(sat["tollgate-pg-s3"].get("tollgate_upload_failures"))}),
            "tollgate_body_upload_failures_total, saturation")
    pgdb = sat.get("tollgate-pg")
    if pgdb:
        row("PG+S3 with bodies in PostgreSQL (diagnostic)",
            only({"tollgate-pg-s3": f"{f0(pgdb['rps'])}{ratio(pgdb['rps'], sat['nginx']['rps'])}, p50 {f2(pgdb['p50'])} ms, "
                                    f"{pgdb['answered_incl_warmup']:,} / {pgdb.get('tollgate_recorded', 0):,} / {pgdb.get('tollgate_dropped', 0):,.0f}"}),
            "saturation, no S3: what of the column is moto's")
    pt = sat.get("passthrough")
    if pt:
        row("Hummingbird + AsyncHTTPClient pass-through, nothing recorded (diagnostic)",
            only({"tollgate": f"{f0(pt['rps'])}{ratio(pt['rps'], sat['nginx']['rps'])}, p50 {f2(pt['p50'])} ms"}),
            "Tollgate's framework floor (benchmarks/PassThrough)")
        row("saturation server CPU µs / request", only(dict(
            {n: f0(sat[n].get("cpu_us_per_request")) + ratio(sat[n].get("cpu_us_per_request"), sat["nginx"].get("cpu_us_per_request")) for n in order},
            tollgate=f0(sat["tollgate"].get("cpu_us_per_request")) + ratio(sat["tollgate"].get("cpu_us_per_request"), sat["nginx"].get("cpu_us_per_request"))
            + f"; pass-through {f0(pt.get('cpu_us_per_request'))}" + ratio(pt.get("cpu_us_per_request"), sat["nginx"].get("cpu_us_per_request")))),
            "× = of nginx; during the 64-connection run; deliveries left pending then are not in it")
    nw = sat.get("tollgate-no-webhook")
    if nw:
        row("Tollgate without the webhook (diagnostic)", only({"tollgate": f"{f0(nw['rps'])}{ratio(nw['rps'], sat['nginx']['rps'])}, p50 {f2(nw['p50'])} ms"}),
            "same, webhook deleted: what deliveries cost")

    def over_litellm(n):
        return f"{sat[n]['rps'] / sat['litellm']['rps']:.1f}×" if sat["litellm"]["rps"] else "—"

    row("Tollgate ÷ LiteLLM saturation", only(dict({n: over_litellm(n) for n in tollgates}, litellm="1×")))

    def fixed_base(n):
        return fx.get("direct@litellm_rate", fx["direct"]) if n == "litellm" else fx["direct"]

    row("fixed rate req/s", [f0(fx[n]["rate"]) for n in order], "LiteLLM at a rate it sustains")
    row("fixed rate p50 / p99 ms", [f"{f2(fx[n]['p50'])} / {f2(fx[n]['p99'])}" for n in order])

    def added(n, k):
        a, b = fx[n][k], fixed_base(n)[k]
        return None if a is None or b is None else a - b

    row("fixed rate added p50 / p99 ms", ["0 / 0" if n == "direct" else f"{f2(added(n, 'p50'))} / {f2(added(n, 'p99'))}"
                                          for n in order], "vs direct at the same rate")
    row("fixed rate p50 ÷ direct", [f"{fx[n]['p50'] / fixed_base(n)['p50']:.2f}×" if fx[n]["p50"] and fixed_base(n)["p50"] else "—" for n in order])
    def cpu(n):
        us = fx[n].get("cpu_us_per_request")
        backends = fx[n].get("backend_cpu_us_per_request")
        return f0(us) + ratio(us, fx["nginx"].get("cpu_us_per_request")) + ("" if backends is None else f" + {f0(backends)} PG/moto")

    row("fixed rate server CPU µs / request", [cpu(n) for n in order],
        "× = of nginx; the server's own processes only" +
        ("; PG+S3: until its recorder caught up, plus PostgreSQL's and moto's" if scale else ""))
    row("stream TTFB p50 / p99 ms", [f"{f2(st[n]['ttfb_p50'])} / {f2(st[n]['ttfb_p99'])}" for n in order],
        f"{STREAM_CHUNKS} chunks, first after {STREAM_TTFC_MS} ms, {STREAM_GAP_MS} ms apart")
    row("stream TTFB added p50 ms", ["0" if n == "direct" else f2(st[n]["ttfb_p50"] - st["direct"]["ttfb_p50"]) for n in order])
    row("stream total p50 / p99 ms", [f"{f2(st[n]['total_p50'])} / {f2(st[n]['total_p99'])}" for n in order])
    row("stream total added p50 ms", ["0" if n == "direct" else f2(st[n]["total_p50"] - st["direct"]["total_p50"]) +
                                      ratio(st[n]["total_p50"], st["direct"]["total_p50"]) for n in order])
    row("stream errors", [f"{st[n]['errors']} / {st[n]['ok'] + st[n]['errors']}" for n in order])
    hooked = {n: whs[n] for n in tollgates if whs.get(n)}
    row(f"webhooks @ {f0(wh['rate'])} req/s: deliveries/s", only({n: f0(w["deliveries_per_s"]) + ratio(w["deliveries_per_s"], w["rate"]) for n, w in hooked.items()}, "—"),
        f"× = of the request rate; the sink alone verifies {R['sink_capacity']['rps']:,.0f}/s")
    row("webhook delay p50 / p99 / max ms", only({n: f"{f2(w['delay_p50_ms'])} / {f2(w['delay_p99_ms'])} / {f2(w['delay_max_ms'])}" for n, w in hooked.items()}, "—"),
        "response end → sink arrival")
    row("webhook sent / recorded / delivered", only({n: f"{w['sent']:,} / {w['recorded']:,} / {w['delivered']:,}" for n, w in hooked.items()}, "—"),
        ", ".join(f"{'PG+S3: ' if n != 'tollgate' else ''}bad signatures {w['bad_signature']}, duplicates {w['duplicates']}" for n, w in hooked.items()))
    row("peak RSS MB (VmHWM) under saturation", [f"{pk.get(n, 0) / 1024:.0f}" + ratio(pk.get(n), pk.get("nginx")) for n in order],
        "× = of nginx; nginx and LiteLLM: all processes" + ("; PG+S3: Tollgate's process only" if scale else ""))
    soak = R["soak"]["rss_kb"]
    if soak:
        first = next((kb for t, kb in soak if t >= min(30, R["soak"]["seconds"] / 3)), soak[0][1])
        row(f"Tollgate RSS MB over {R['soak']['seconds']} s soak @ {f0(R['soak']['rate'])} req/s",
            only({"tollgate": f"{first / 1024:.0f} → {soak[-1][1] / 1024:.0f}, max {max(kb for _, kb in soak) / 1024:.0f}" + ratio(soak[-1][1], first)}),
            "after warm-up → end")
    names = {"direct": "direct", "nginx": "nginx", "tollgate": "Tollgate", "tollgate-pg-s3": "Tollgate PG+S3", "litellm": "LiteLLM"}
    head = "| figure | " + " | ".join(names[n] for n in order) + " | |\n|---" + "|---" * len(order) + "|---|\n"
    m = R["machine"]
    intro = (f"{R['mode']} run, {m['date']}, commit {m['commit']}, {m['nproc']} × {m['cpu']}, "
             f"load before {' '.join(m['load_before'])}, {R['elapsed_s']} s\n\n")
    outro = ""
    if scale:  # what the column runs on, and the one figure that can bound it that the table does not show
        v = R.get("scale_out_versions", {})
        outro = (f"\nTollgate PG+S3: records in PostgreSQL {v.get('postgres', '?')} (scripts/postgres: 127.0.0.1, fsync off, "
                 f"a fresh schema per scenario), bodies in moto {v.get('moto', '?')}'s S3 server (Python, authentication off). "
                 f"moto alone stores {R['moto_capacity']['rps']:,.0f} new 1.2 KB objects/s over 16 connections "
                 f"(the uploads Tollgate keeps in flight), so it may bound this column.\n")
    return intro + head + "\n".join(rows) + "\n" + outro


if __name__ == "__main__":
    main()
