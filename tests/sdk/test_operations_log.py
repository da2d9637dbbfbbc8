"""What an operator reads in the gateway's log: one line for every call that failed or was
refused, with its id, status and reason, and never a credential or a body."""
import time
import uuid

import httpx

from conftest import Gateway
from fake_provider import ClosedPort


def wait_for_line(gateway, *parts, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for line in list(gateway.output):
            if all(part in line for part in parts):
                return line
        time.sleep(0.05)
    raise AssertionError(f"no log line with {parts}:\n" + "".join(gateway.output[-20:]))


def test_failed_and_refused_calls_each_leave_a_log_line_without_credentials_or_bodies(provider):
    closed = ClosedPort()  # held for the test: no server started meanwhile can take it
    dead = closed.url
    gateway = Gateway(provider.base_url, extra_env={"TOLLGATE_PROVIDERS_DEAD_BASE_URL": dead})
    secret = "sk-do-not-log-" + uuid.uuid4().hex
    try:
        # The provider answers 400 to a malformed body: notice, with the provider's status.
        refused = httpx.post(gateway.url + "/v1/chat/completions", content=b'{"model": "gpt-4o-mini", "messages": [ oops "secret-body"',
                             headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
        assert refused.status_code == 400
        line = wait_for_line(gateway, "provider refused call", refused.headers["helicone-id"])
        assert "notice" in line and "status=400" in line

        # An unreachable provider: warning, with the failure.
        failed = httpx.post(gateway.url + "/dead/v1/chat/completions", json={"model": "gpt-4o-mini"},
                            headers={"Authorization": f"Bearer {secret}"})
        assert failed.status_code == 502
        line = wait_for_line(gateway, "call failed", failed.headers["helicone-id"])
        assert "warning" in line and "upstream_unreachable" in line

        # Refused by the gateway itself (bad Helicone-Request-Id): notice, with the reason.
        bad = httpx.post(gateway.url + "/v1/chat/completions", json={}, headers={"Helicone-Request-Id": "not-a-uuid",
                                                                                "Authorization": f"Bearer {secret}"})
        assert bad.status_code == 400
        line = wait_for_line(gateway, "refused call", bad.headers["helicone-id"])
        assert "invalid_header" in line

        log = "".join(gateway.output)
        assert secret not in log
        assert "secret-body" not in log
    finally:
        gateway.stop()
