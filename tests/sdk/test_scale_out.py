"""Several gateways sharing one PostgreSQL database: every call recorded once, every webhook
delivered, and the deliveries of an instance killed mid-attempt finished by another.
Runs when the test command has started PostgreSQL (TOLLGATE_TEST_POSTGRES_URL)."""
import json
import os
import signal
import threading
import uuid
from http.server import ThreadingHTTPServer

import pytest

from conftest import Gateway
from fake_provider import LoopbackHandler
from shared_http import HTTP
from webhook_support import api_data, create_webhook, deliveries, wait_until

POSTGRES = os.environ.get("TOLLGATE_TEST_POSTGRES_URL")
pytestmark = pytest.mark.skipif(not POSTGRES, reason="needs TOLLGATE_TEST_POSTGRES_URL (scripts/test starts PostgreSQL)")

FAST_WEBHOOKS = """
webhooks:
  allowed_private_hosts: ["127.0.0.1"]
  retry_schedule_seconds: [0.05, 0.05, 0.05]
  timeout_seconds: 2
  lease_margin_seconds: 1
  registry_refresh_seconds: 0.2
"""


class HoldingReceiver:
    """A webhook endpoint that keeps every delivery waiting until `release()`, then answers 200."""

    def __init__(self):
        self.released = threading.Event()
        self.arrived = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(LoopbackHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.arrived.append((self.headers["webhook-id"], body))
                receiver.released.wait()
                try:
                    self.send_response(200)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender died while we held it

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self):
        self.released.set()

    def request_ids(self):
        with self.lock:
            return [json.loads(body)["request_id"] for _, body in self.arrived]

    def stop(self):
        self.released.set()
        self.server.shutdown()


def shared_gateway(provider, schema, storage=None):
    return Gateway(provider.base_url, storage=storage, extra_yaml=FAST_WEBHOOKS, extra_env={
        "TOLLGATE_STORAGE_KIND": "postgres",
        "TOLLGATE_STORAGE_POSTGRES_URL": POSTGRES,
        "TOLLGATE_STORAGE_POSTGRES_SCHEMA": schema,
        "TOLLGATE_BODIES_SIGNING_KEY": "shared-signing-key-" + schema,
    })


def call(gateway):
    rid = str(uuid.uuid4())
    r = HTTP.post(gateway.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []},
                  headers={"Helicone-Request-Id": rid})
    assert r.status_code == 200, r.text
    return rid


def test_two_gateways_record_every_call_once_and_deliver_every_webhook(provider):
    schema = "s_" + uuid.uuid4().hex[:12]
    receiver = HoldingReceiver()
    receiver.release()
    # Both start at once on an empty schema: migrations must not collide.
    started = {}
    threads = [threading.Thread(target=lambda k=k: started.__setitem__(k, shared_gateway(provider, schema))) for k in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a, b = started["a"], started["b"]
    try:
        webhook = create_webhook(a, receiver.url)
        # A webhook made through one instance reaches the other's calls once it re-reads the list.
        def b_matches():
            probe = call(b)
            try:
                return wait_until(lambda: probe in set(receiver.request_ids()), 1, "probe delivery")
            except AssertionError:
                return False
        wait_until(b_matches, 15, "b matching the webhook made through a")
        before = set(receiver.request_ids())
        ids = [call(a if i % 2 else b) for i in range(40)]
        wait_until(lambda: all(a.admin(f"/v1/requests/{rid}").status_code == 200 for rid in ids), 10, "records")
        listed = api_data(b.admin("/v1/requests", limit=1000))
        assert sorted(r["id"] for r in listed if r["id"] in set(ids)) == sorted(ids)  # each once
        wait_until(lambda: set(ids) <= set(receiver.request_ids()), 15, "every delivery")
        delivered = [r for r in receiver.request_ids() if r not in before]
        assert sorted(delivered) == sorted(ids)  # none twice
        # A receiver has a delivery a moment before its attempt is logged.
        wait_until(lambda: all(d["status"] == "succeeded" for d in deliveries(a, webhook["id"]) if d["request_id"] in set(ids)), 10,
                   "every delivery logged as succeeded")
    finally:
        a.stop()
        b.stop()
        receiver.stop()


def test_deliveries_held_by_a_killed_gateway_are_finished_by_another(provider):
    schema = "s_" + uuid.uuid4().hex[:12]
    receiver = HoldingReceiver()
    a = shared_gateway(provider, schema)
    b = None
    try:
        webhook = create_webhook(a, receiver.url)
        ids = [call(a) for _ in range(5)]
        # a has claimed every delivery and is in the middle of sending them.
        wait_until(lambda: set(ids) <= set(receiver.request_ids()), 10, "a's attempts in flight")
        a.stop(signal.SIGKILL)
        receiver.release()
        b = shared_gateway(provider, schema)
        # Once a's leases end (timeout 2 s + margin 1 s), b sends them again, same webhook-id.
        def all_succeeded():
            items = deliveries(b, webhook["id"])
            return len(items) == 5 and all(d["status"] == "succeeded" for d in items) and items
        items = wait_until(all_succeeded, 20, "deliveries finished by b")
        assert sorted(d["request_id"] for d in items) == sorted(ids)
        with receiver.lock:
            by_id = {}
            for msg_id, _ in receiver.arrived:
                by_id[msg_id] = by_id.get(msg_id, 0) + 1
        assert sorted(by_id) == sorted(d["webhook_id"] for d in items)
        assert all(count == 2 for count in by_id.values())  # a's cut attempt, then b's
    finally:
        if b:
            b.stop()
        if a.process.poll() is None:
            a.stop()
        receiver.stop()
