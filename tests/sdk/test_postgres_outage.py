"""PostgreSQL stopped and started again under load: the recorder and the webhook dispatcher
resume on their own, every answered call is recorded and delivered once, and SIGTERM exits
within seconds, even while the database is down.

Each test module run starts its own PostgreSQL cluster (scripts/postgres), so stopping it
disturbs no other test; it runs in the suite's SQLite pass only (once per test command)."""
import glob
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter

import httpx
import pytest

from conftest import ROOT, SUITE_POSTGRES, Gateway
from shared_http import HTTP
from webhook_support import Receiver, api_data, create_webhook, wait_until

pytestmark = pytest.mark.skipif(bool(SUITE_POSTGRES), reason="starts its own PostgreSQL; runs once, in the SQLite pass")

# Loopback receivers allowed. An attempt may take 30 s before it is retried, so that a receiver
# slowed by a busy machine is not sent the same delivery twice (that would be at-least-once doing
# its job, not an outage losing track). A delivery claimed from the store just as the database
# went away, whose record could not be read and whose lease could not be given back either, is
# claimed again once its lease (timeout + margin) ends: a short margin keeps that within the
# test's wait. (Deliveries held in memory no longer wait for their lease: a CI run with the
# default 90 s lease left 51 of 2,804 to such claims, and a local one none.)
OUTAGE_YAML = """
webhooks:
  allowed_private_hosts: ["127.0.0.1"]
  retry_schedule_seconds: [0.05, 0.05]
  timeout_seconds: 30
  lease_margin_seconds: 5
"""


class Cluster:
    """A private PostgreSQL server that the test stops and starts (pg_ctl, as the server's owner)."""

    def __init__(self):
        out = subprocess.run([os.path.join(ROOT, "scripts", "postgres"), "start"], check=True, capture_output=True, text=True).stdout
        values = dict(re.findall(r"export (\w+)=(\S+)", out))
        self.url, self.dir = values["TOLLGATE_TEST_POSTGRES_URL"], values["TOLLGATE_TEST_POSTGRES_DIR"]
        self.port = re.search(r":(\d+)/", self.url).group(1)
        self.pg_ctl = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: [int(n) for n in re.findall(r"\d+", p)])[-1]

    def ctl(self, *args):
        command = [self.pg_ctl, "-D", os.path.join(self.dir, "data"), "-w", *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True)

    def stop(self):
        self.ctl("-m", "fast", "stop")

    def start(self):
        self.ctl("-l", os.path.join(self.dir, "log"), "-o", f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off", "start")

    def remove(self):
        subprocess.run([os.path.join(ROOT, "scripts", "postgres"), "stop", self.dir], capture_output=True)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    yield c
    c.remove()


def outage_gateway(provider, cluster, **yaml):
    extra = "".join(f"\n{k}: {v}" for k, v in yaml.items())
    return Gateway(provider.base_url, extra_yaml=OUTAGE_YAML + extra, extra_env={
        "TOLLGATE_STORAGE_KIND": "postgres",
        "TOLLGATE_STORAGE_POSTGRES_URL": cluster.url,
        "TOLLGATE_STORAGE_POSTGRES_SCHEMA": "s_" + uuid.uuid4().hex[:12],
        "TOLLGATE_STORAGE_QUEUE_CAPACITY": "50000",
    })


class Load:
    """Worker threads posting chat completions at about `rate` calls a second in all, until
    stopped or `limit` calls were sent; keeps the Helicone-Id of every call answered 200, and
    counts every other answer. The rate is what a debug build delivers webhooks at on a busy
    2-core machine, so that what is measured is what an outage loses, not throughput."""

    def __init__(self, gateway, workers=4, rate=150, limit=5000):
        self.answered, self.other, self.lock = [], Counter(), threading.Lock()
        self.stopped = threading.Event()
        self.sent = 0
        interval = workers / rate
        self.threads = [threading.Thread(target=self.work, args=(gateway.url, limit, interval), daemon=True) for _ in range(workers)]
        for t in self.threads:
            t.start()

    def work(self, url, limit, interval):
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        next_at = time.monotonic()
        with httpx.Client(timeout=30) as client:
            while not self.stopped.is_set():
                with self.lock:
                    if self.sent >= limit:
                        return
                    self.sent += 1
                next_at += interval
                time.sleep(max(0, next_at - time.monotonic()))
                try:
                    r = client.post(url + "/v1/chat/completions", json=body)
                except httpx.HTTPError as e:
                    with self.lock:
                        self.other[type(e).__name__] += 1
                    continue
                with self.lock:
                    if r.status_code == 200:
                        self.answered.append(r.headers["helicone-id"])
                    else:
                        self.other[r.status_code] += 1

    def stop(self):
        self.stopped.set()
        for t in self.threads:
            t.join(timeout=60)
        return list(self.answered)


def recorded_ids(gateway):
    ids, cursor = set(), None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        r = gateway.admin("/v1/requests", **params)
        if r.status_code != 200:
            return ids  # the database may still be coming back
        page = r.json()
        ids.update(record["id"] for record in page["data"])
        cursor = page["next_cursor"]
        if not cursor:
            return ids


def state(gateway):
    """What the gateway's metrics and last log lines say, for a failure message."""
    metrics = HTTP.get(gateway.url + "/metrics").text
    wanted = [line for line in metrics.splitlines() if re.match(r"tollgate_(record_queue_depth|records_dropped|webhook_deliveries_pending)", line)]
    return "metrics: " + "; ".join(wanted) + "\nlast lines:\n" + "".join(gateway.output[-15:])


def sigterm_exit_seconds(gateway, bound=15):
    """Seconds from SIGTERM to exit, asserting a clean exit within `bound` (generous: the
    gateway gives the database 3 s at most, then stops waiting for it)."""
    started = time.monotonic()
    gateway.process.send_signal(signal.SIGTERM)
    try:
        code = gateway.process.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        gateway.process.kill()
        raise AssertionError(f"SIGTERM did not stop the gateway within {bound}s; last lines:\n" + "".join(gateway.output[-30:]))
    assert code == 0, "".join(gateway.output[-30:])
    return time.monotonic() - started


def test_postgres_stopped_twice_under_load_loses_no_record_and_no_delivery(provider, cluster):
    receiver = Receiver()
    gateway = outage_gateway(provider, cluster)
    try:
        create_webhook(gateway, receiver.url + "/all")
        load = Load(gateway)
        for _ in range(2):
            time.sleep(2)
            cluster.stop()
            time.sleep(6)  # calls keep being answered; their records wait in the queue
            cluster.start()
        time.sleep(2)
        answered = load.stop()
        assert len(answered) > 500, (len(answered), load.other)
        assert not load.other, load.other  # calls without Helicone-Request-Id never wait on the store

        missing = lambda: len(set(answered) - recorded_ids(gateway))
        wait_until(lambda: not missing(), 60, lambda: f"{missing()} of {len(answered)} answered calls not recorded; {state(gateway)}")

        delivered = lambda: Counter(d.payload["request_id"] for d in receiver.received(answered=200))
        began = time.monotonic()
        wait_until(lambda: set(answered) <= set(delivered()), 90,
                   lambda: f"{len(set(answered) - set(delivered()))} of {len(answered)} records not delivered; {state(gateway)}")
        delivered_after = time.monotonic() - began
        twice = {rid: n for rid, n in delivered().items() if n > 1}
        assert not twice, f"{len(twice)} records delivered more than once"
        assert set(delivered()) == set(answered)

        seconds = sigterm_exit_seconds(gateway)
        print(f"{len(answered)} calls answered, recorded and delivered once, the last {delivered_after:.0f} s after the calls ended; SIGTERM exit after {seconds:.1f} s")
    finally:
        if gateway.process.poll() is None:
            gateway.process.kill()
        receiver.stop()
        try:
            cluster.start()
        except subprocess.CalledProcessError:
            pass  # already running


def test_sigterm_while_postgres_is_down_exits_within_seconds_and_says_what_it_lost(provider, cluster):
    gateway = outage_gateway(provider, cluster)
    try:
        with httpx.Client(timeout=30) as client:
            before = client.post(gateway.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []})
            gateway.record(before.headers["helicone-id"])
            cluster.stop()
            statuses = [client.post(gateway.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []}).status_code
                        for _ in range(50)]
            assert statuses == [200] * 50  # answered while the database is down
            # A client-chosen id cannot be checked for re-use: refused at once, and not left claimed.
            rid = str(uuid.uuid4())
            r = client.post(gateway.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []},
                            headers={"Helicone-Request-Id": rid})
            assert r.status_code == 503, r.text
            assert r.json()["error"]["type"] == "store_unavailable"
        seconds = sigterm_exit_seconds(gateway)
        print(f"SIGTERM with the database down: exit after {seconds:.1f} s")
        output = "".join(gateway.output)
        assert re.search(r"dropping \d+ records?\b.*shutting down", output), output[-3000:]
    finally:
        if gateway.process.poll() is None:
            gateway.process.kill()
        cluster.start()
