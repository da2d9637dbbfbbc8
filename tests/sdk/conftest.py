"""Starts the real `tollgate` binary against a fake provider for each test module."""
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from fake_provider import FakeProvider
from shared_http import HTTP
from webhook_support import WEBHOOK_YAML, Receiver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("TOLLGATE_BIN", os.path.join(ROOT, ".build", "debug", "tollgate"))
ADMIN_KEY = "sdk-test-admin-key"
# Set by scripts/test for the suite's second pass: every gateway that does not choose its own
# store keeps its records in PostgreSQL, one schema per storage directory (so a restart on the
# same directory finds its data), and the same tests must pass there.
SUITE_POSTGRES = os.environ.get("TOLLGATE_SDK_SUITE_POSTGRES_URL")


class Gateway:
    """One `tollgate serve` process on 127.0.0.1, port 0, with its own storage directory."""

    def __init__(self, provider_url, storage=None, extra_env=None, extra_yaml=""):
        self.storage = storage or tempfile.mkdtemp(prefix="tollgate-sdk-")
        self.provider_url = provider_url
        self.extra_env = extra_env or {}
        self.extra_yaml = extra_yaml  # appended to the config, top-level keys such as `webhooks:`
        self.start()

    def start(self):
        config = os.path.join(self.storage, "tollgate.yaml")
        with open(config, "w") as f:
            f.write(f"""
server:
  host: 127.0.0.1
  port: 0
storage:
  path: {self.storage}
admin:
  key: {ADMIN_KEY}
providers:
  openai:
    base_url: {self.provider_url}
  anthropic:
    base_url: {self.provider_url}
    format: anthropic
""" + self.extra_yaml)
        env = dict(os.environ, **self.extra_env)
        if SUITE_POSTGRES and "TOLLGATE_STORAGE_KIND" not in self.extra_env:
            schema = "sdk_" + re.sub(r"[^a-z0-9]", "", os.path.basename(self.storage).lower())[-40:]
            env.update(TOLLGATE_STORAGE_KIND="postgres", TOLLGATE_STORAGE_POSTGRES_URL=SUITE_POSTGRES,
                       TOLLGATE_STORAGE_POSTGRES_SCHEMA=schema)
        self.launch([BINARY, "serve", "--config", config], env)

    def launch(self, argv, env, cwd=None):
        """Runs argv and waits until it says where it listens."""
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
        deadline = time.time() + 30
        self.output = []
        while time.time() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("tollgate exited:\n" + "".join(self.output))
            self.output.append(line)
            m = re.search(r"tollgate listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.url = m.group(1)
                # Keep reading what it prints, so a full pipe never blocks the gateway's logging.
                threading.Thread(target=self._drain, daemon=True).start()
                return
        raise RuntimeError("tollgate did not start:\n" + "".join(self.output))

    def _drain(self):
        for line in self.process.stdout:
            self.output.append(line)

    def stop(self, sig=signal.SIGTERM):
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        return self.process.returncode

    def admin(self, path, **params):
        return HTTP.get(self.url + path, params=params, headers={"Authorization": f"Bearer {ADMIN_KEY}"})

    def admin_call(self, method, path, body=None):
        """A management API call with the admin key; returns the response (envelope in .json())."""
        return HTTP.request(method, self.url + path, json=body, headers={"Authorization": f"Bearer {ADMIN_KEY}"})

    def record(self, request_id, timeout=10):
        """The record for request_id, once the recorder has written it (it runs after the response)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.admin(f"/v1/requests/{request_id}")
            if r.status_code == 200:
                return r.json()["data"]
            time.sleep(0.02)
        raise AssertionError(f"record {request_id} not written within {timeout}s")


@pytest.fixture(scope="module")
def provider():
    p = FakeProvider()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def gateway(provider):
    g = Gateway(provider.base_url)
    yield g
    g.stop()


@pytest.fixture(scope="module")
def webhook_gateway(provider):
    """A gateway that may deliver webhooks to loopback receivers, retrying at once."""
    g = Gateway(provider.base_url, extra_yaml=WEBHOOK_YAML)
    yield g
    g.stop()


@pytest.fixture(scope="module")
def hook_receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def answers(provider):
    """prompt (the first message's content) -> the provider's response body bytes for it."""
    table = {}
    provider.override = lambda body: table.get(body["messages"][0]["content"])
    yield table
    provider.override = None
