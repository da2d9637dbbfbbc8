"""What a receiver finds in a delivery: Helicone's fields in Helicone's order, with or without
includeData; bodies cut at exactly 10,240 UTF-8 bytes without splitting a character; and a
request_response_url that serves the full bodies until it expires."""
import json
import time
import uuid

import pytest

from conftest import Gateway
from fake_provider import chat_completion
from shared_http import HTTP
from webhook_support import WEBHOOK_YAML, chat, create_webhook, js_round_trips, wait_until

LIMIT = 10_240
STANDARD = ["request_id", "user_id", "request_body", "response_body"]
WITH_DATA = STANDARD + ["request_response_url", "model", "provider", "metadata"]
DATA_ONLY = {"request_response_url", "model", "provider", "metadata"}


@pytest.fixture(scope="module")
def gateway(provider):
    g = Gateway(provider.base_url, extra_yaml=WEBHOOK_YAML + "bodies:\n  url_ttl_seconds: 2\n")
    yield g
    g.stop()


@pytest.fixture(scope="module")
def hooks(gateway, hook_receiver):
    """Two webhooks for calls tagged Run=<tag>: /data with includeData, /plain without."""
    tag = uuid.uuid4().hex
    for path, include in (("/data", True), ("/plain", False)):
        create_webhook(gateway, hook_receiver.url + path, include_data=include, filters={"Run": tag})
    return {"Helicone-Property-Run": tag}


def deliveries_of(receiver, rid):
    return receiver.wait_for(rid, "/data"), receiver.wait_for(rid, "/plain")


def test_fields_with_and_without_include_data(gateway, hook_receiver, hooks):
    known = chat(gateway, "who am I", headers=hooks | {"Helicone-User-Id": "user-123"})
    anonymous = chat(gateway, "nobody", headers=hooks)
    raw_controls = ('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"raw\u0001\u001f\t\n\u2028 🎉"}]}').encode()
    raw = chat(gateway, raw=raw_controls, headers=hooks)

    data, plain = deliveries_of(hook_receiver, known)
    assert list(data.payload)[:8] == WITH_DATA
    assert list(plain.payload)[:4] == STANDARD and not DATA_ONLY & set(plain.payload)
    assert data.payload["user_id"] == plain.payload["user_id"] == "user-123"
    record = gateway.record(known)
    sent = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "who am I"}], "stream": False})
    assert data.payload["request_body"] == plain.payload["request_body"] == sent
    provider_sent = json.dumps(chat_completion("gpt-4o-mini"), ensure_ascii=False)
    assert json.loads(data.payload["response_body"]) == json.loads(provider_sent)
    assert (data.payload["model"], data.payload["provider"]) == ("gpt-4o-mini", "openai")
    metadata = data.payload["metadata"]
    assert list(metadata)[:5] == ["cost", "promptTokens", "completionTokens", "totalTokens", "latencyMs"]
    assert [metadata[k] for k in list(metadata)[:4]] == [record["cost_usd"], 1000, 200, 1200]
    assert abs(metadata["latencyMs"] - record["latency_ms"]) <= 1
    assert data.payload["request_response_url"].startswith(gateway.url + "/")

    data, plain = deliveries_of(hook_receiver, anonymous)
    assert list(data.payload)[:7] == [f for f in WITH_DATA if f != "user_id"]
    assert list(plain.payload)[:3] == [f for f in STANDARD if f != "user_id"]
    assert "user_id" not in data.payload and "user_id" not in plain.payload

    data, plain = deliveries_of(hook_receiver, raw)
    assert plain.payload["request_body"] == raw_controls.decode()
    bodies = [d.body for d in hook_receiver.received() if d.path in ("/data", "/plain")]
    assert all(d.headers["content-type"] == "application/json" for d in hook_receiver.received("/plain"))
    assert js_round_trips(bodies) == [True] * len(bodies)
    # The body as text (SPEC §6), byte for byte as the provider sent it, not a re-serialization.
    assert data.payload["response_body"] == provider_sent


def placed(build, char, at):
    """build(content) with the content padded so that `char` starts at byte `at` of the body."""
    probe = build("")
    start = probe.index(b'"content": ""') + len(b'"content": "')
    return build("a" * (at - start) + char + " after ünï")


def request_with(content):
    return json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]}, ensure_ascii=False).encode()


@pytest.mark.parametrize("request_char, request_at, request_cut, response_char, response_at, response_cut", [
    ("é", LIMIT - 1, LIMIT - 1, "😀", LIMIT - 3, LIMIT - 3),  # both straddle the limit
    ("é", LIMIT - 2, LIMIT, "€", LIMIT - 2, LIMIT - 2),      # é ends exactly at it; € straddles
    ("😀", LIMIT - 4, LIMIT, "é", LIMIT, LIMIT),              # 😀 ends exactly at it; é starts past it
])
def test_bodies_cut_at_10240_utf8_bytes_and_full_behind_the_url(gateway, hook_receiver, hooks, answers, request_char,
                                                               request_at, request_cut, response_char, response_at, response_cut):
    body = placed(request_with, request_char, request_at)
    response = placed(lambda c: json.dumps(chat_completion("gpt-4o-mini", c), ensure_ascii=False).encode(), response_char, response_at)
    assert len(body) > LIMIT and len(response) > LIMIT
    answers[json.loads(body)["messages"][0]["content"]] = response
    rid = chat(gateway, raw=body, headers=hooks)

    data, plain = deliveries_of(hook_receiver, rid)
    for delivery in (data, plain):
        assert delivery.payload["request_body"] == body[:request_cut].decode()
    full = HTTP.get(data.payload["request_response_url"])
    assert full.status_code == 200, full.text
    assert full.json()["request"] == json.loads(body) and full.json()["response"] == json.loads(response)
    for delivery in (data, plain):
        assert delivery.payload["response_body"] == response[:response_cut].decode()


def test_a_body_of_exactly_10240_bytes_is_not_cut(gateway, hook_receiver, hooks, answers):
    probe = request_with("")
    body = request_with("a" * (LIMIT - len(probe) - 2) + "é")
    assert len(body) == LIMIT
    rid = chat(gateway, raw=body, headers=hooks)
    assert hook_receiver.wait_for(rid, "/plain").payload["request_body"] == body.decode()


def test_request_response_url_is_refused_once_expired_or_altered(gateway, hook_receiver, hooks):
    rid = chat(gateway, "expiring", headers=hooks)
    url = hook_receiver.wait_for(rid, "/data").payload["request_response_url"]
    fresh = HTTP.get(url)
    assert fresh.status_code == 200 and fresh.json()["request"]["messages"][0]["content"] == "expiring"

    altered = url[:-1] + ("0" if url[-1] != "0" else "1")
    assert HTTP.get(altered).status_code == 403
    started = time.time()
    expired = wait_until(lambda: (lambda r: r if r.status_code != 200 else None)(HTTP.get(url)), 6, "the URL to expire")
    assert expired.status_code == 403 and "expiring" not in expired.text, expired.text
    assert time.time() - started < 4
