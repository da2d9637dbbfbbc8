"""A gateway stopped with SIGTERM writes every call it answered before it exits."""
import uuid

import httpx

from conftest import Gateway


def test_sigterm_drains_the_record_queue(provider):
    gateway = Gateway(provider.base_url)
    ids = []
    with httpx.Client() as c:
        for _ in range(200):
            rid = str(uuid.uuid4())
            assert c.post(gateway.url + "/v1/chat/completions", json={"model": "gpt-4o-mini"},
                          headers={"Helicone-Request-Id": rid}).status_code == 200
            ids.append(rid)
    assert gateway.stop() == 0

    again = Gateway(provider.base_url, storage=gateway.storage)
    try:
        for rid in ids:
            r = again.admin(f"/v1/requests/{rid}")
            assert r.status_code == 200, rid
    finally:
        again.stop()
