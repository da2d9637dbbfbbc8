"""What the webhook tests share: receivers (Python and the doc's Node handler), polling, and
management API and proxy calls."""
import base64
import json
import os
import subprocess
import threading
import time
import uuid
from http.server import ThreadingHTTPServer

from fake_provider import LoopbackHandler
from shared_http import HTTP

HERE = os.path.dirname(os.path.abspath(__file__))

# Loopback receivers over plain http are allowed; failed attempts retry almost at once.
WEBHOOK_YAML = """
webhooks:
  allowed_private_hosts: ["127.0.0.1"]
  retry_schedule_seconds: [0.05, 0.05]
  timeout_seconds: 5
"""


def wait_until(check, timeout, what):
    """Polls check() every 20 ms until it returns something truthy, which it returns; fails
    naming `what` (or what `what()` says then) and the last value seen after `timeout` seconds."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"{what() if callable(what) else what}: not within {timeout}s (last: {str(last)[:2000]})")


def api_data(response, status=200):
    """The envelope's data, after checking the status and that error is null."""
    assert response.status_code == status, f"{response.status_code} {response.text}"
    envelope = response.json()
    assert envelope["error"] is None, envelope
    return envelope["data"]


def create_webhook(gateway, destination, include_data=True, sample_rate=100, filters=None):
    body = {"destination": destination, "config": {"sampleRate": sample_rate}, "includeData": include_data}
    if filters is not None:
        body["config"]["propertyFilters"] = filters
    webhook = api_data(gateway.admin_call("POST", "/v1/webhooks", body), status=201)
    assert webhook["hmac_key"] and webhook["webhook_secret"].startswith("whsec_"), webhook
    return webhook


def deliveries(gateway, webhook_id):
    """Every delivery of the webhook (one page of up to 200), newest first."""
    return api_data(gateway.admin_call("GET", f"/v1/webhooks/{webhook_id}/deliveries?limit=200"))


def chat(gateway, content="hi", headers=None, model="gpt-4o-mini", raw=None, stream=False):
    """One chat completion through the gateway with a chosen Helicone-Request-Id; returns it once
    the record is written (deliveries are enqueued with the record). `raw` sends those exact
    bytes as the body instead of a JSON encoding of model and content."""
    rid = str(uuid.uuid4())
    body = raw if raw is not None else json.dumps(
        {"model": model, "messages": [{"role": "user", "content": content}], "stream": stream}, ensure_ascii=False).encode()
    r = HTTP.post(gateway.url + "/v1/chat/completions", content=body,
                   headers={"content-type": "application/json", "Helicone-Request-Id": rid, **(headers or {})})
    assert r.status_code == 200, r.text
    assert r.headers["helicone-id"] == rid
    gateway.record(rid)
    return rid


class Delivery:
    def __init__(self, path, headers, body, answered):
        self.path, self.headers, self.body, self.answered = path, headers, body, answered

    @property
    def payload(self):
        return json.loads(self.body)


class Receiver:
    """A webhook endpoint on 127.0.0.1, port 0, keeping every delivery (path, lowercased headers,
    raw body) and answering `status` (settable while running)."""

    def __init__(self, status=200):
        self.status = status
        self.deliveries = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(LoopbackHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = receiver.status
                with receiver.lock:
                    receiver.deliveries.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body, status))
                answer = b'{"ok":true}' if status < 300 else b'{"error":"down"}'
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self, path=None, request_id=None, answered=None):
        with self.lock:
            found = list(self.deliveries)
        return [d for d in found if (path is None or d.path == path)
                and (request_id is None or d.payload.get("request_id") == request_id)
                and (answered is None or d.answered == answered)]

    def wait_for(self, request_id, path=None, timeout=10):
        """The first delivery answered 2xx for request_id."""
        return wait_until(lambda: self.received(path, request_id, answered=200), timeout,
                          f"delivery of {request_id} to {path or 'any path'}")[0]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class NodeReceiver:
    """tests/sdk/node/receiver.mjs, the doc's handler under Node, with WEBHOOK_SECRET set; keeps
    the JSON line it prints per delivery."""

    def __init__(self, secret):
        self.process = subprocess.Popen(["node", os.path.join(HERE, "node", "receiver.mjs")], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=dict(os.environ, WEBHOOK_SECRET=secret))
        first = self.process.stdout.readline()
        if not first:
            raise RuntimeError("receiver.mjs exited: " + self.process.stderr.read())
        self.url = f"http://127.0.0.1:{json.loads(first)['port']}"
        self.records = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.records.append(json.loads(line))

    def record_for(self, request_id, timeout=10):
        return wait_until(lambda: next((r for r in self.records if r.get("request_id") == request_id), None),
                          timeout, f"receiver.mjs record for {request_id}")

    @staticmethod
    def raw(record):
        return base64.b64decode(record["raw"])

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def js_round_trips(bodies):
    """For each body, whether Node's JSON.stringify(JSON.parse(body)) gives back exactly its bytes,
    which is what the doc's verifySignature needs."""
    script = ("let s='';process.stdin.on('data',d=>s+=d).on('end',()=>process.stdout.write(JSON.stringify("
              "JSON.parse(s).map(b=>{const raw=Buffer.from(b,'base64');"
              "return Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8')))).equals(raw)}))))")
    out = subprocess.run(["node", "-e", script], input=json.dumps([base64.b64encode(b).decode() for b in bodies]),
                         capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)
