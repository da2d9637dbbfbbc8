"""The official OpenAI Python SDK, pointed at the gateway, gets the provider's answers unchanged,
and every call shows up in the read API with the right tokens and cost."""
import json
import uuid

import httpx
import openai
import pytest


def client(gateway):
    return openai.OpenAI(base_url=gateway.url + "/openai/v1", api_key="sk-test-provider-key", max_retries=0)


def test_chat_completion_answer_and_record(gateway, provider):
    rid = str(uuid.uuid4())
    completion = client(gateway).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}], user="end-user-7",
        extra_headers={"Helicone-Request-Id": rid, "Helicone-Property-Environment": "production"},
    )
    assert completion.choices[0].message.content == "Hello from the fake provider / “quoted”"
    assert completion.usage.prompt_tokens == 1000

    forwarded = provider.requests[-1]
    assert forwarded["headers"].get("authorization") == "Bearer sk-test-provider-key"
    assert not any(k.startswith("helicone-") for k in forwarded["headers"])

    record = gateway.record(rid)
    assert record["provider"] == "openai"
    assert record["model"] == "gpt-4o-mini"
    assert record["status"] == 200
    assert record["stream"] is False
    assert record["user_id"] == "end-user-7"
    # Header names are case-insensitive and the SDK lowercases them on the wire.
    assert {k.lower(): v for k, v in record["properties"].items()} == {"environment": "production"}
    assert (record["prompt_tokens"], record["completion_tokens"], record["total_tokens"]) == (1000, 200, 1200)
    assert record["cache_read_tokens"] == 400
    assert record["reasoning_tokens"] == 64
    # gpt-4o-mini: 600 uncached × 0.15 + 400 cached × 0.075 + 200 × 0.60, per million tokens.
    assert record["cost_usd"] == pytest.approx(0.00024, rel=1e-9)
    assert record["time_to_first_token_ms"] is None
    assert record["latency_ms"] > 0


def test_answer_is_byte_for_byte_the_providers(gateway, provider):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    direct = httpx.post(provider.base_url + "/v1/chat/completions", json=body)
    through = httpx.post(gateway.url + "/openai/v1/chat/completions", json=body)
    assert through.status_code == direct.status_code == 200
    assert through.content == direct.content
    assert through.headers["x-request-id"] == "req_fake"
    assert uuid.UUID(through.headers["helicone-id"])


def test_stream_without_usage_request_looks_untouched_and_is_metered(gateway, provider):
    rid = str(uuid.uuid4())
    stream = client(gateway).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_headers={"Helicone-Request-Id": rid},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello world"
    # The client did not ask for usage, so it sees no usage chunk and no usage fields.
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    sent = json.loads(provider.requests[-1]["body"])
    assert sent["stream_options"] == {"include_usage": True}

    record = gateway.record(rid)
    assert record["stream"] is True
    assert (record["prompt_tokens"], record["completion_tokens"]) == (20, 2)
    assert record["cost_usd"] == pytest.approx((20 * 0.15 + 2 * 0.60) / 1e6, rel=1e-9)
    assert record["time_to_first_token_ms"] is not None
    assert record["time_to_first_token_ms"] <= record["latency_ms"]


def test_stream_with_usage_request_keeps_usage_chunk(gateway):
    rid = str(uuid.uuid4())
    stream = client(gateway).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True}, extra_headers={"Helicone-Request-Id": rid},
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == 22
    assert gateway.record(rid)["total_tokens"] == 22


def test_streamed_body_url_serves_reconstructed_completion(gateway):
    rid = str(uuid.uuid4())
    list(client(gateway).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_headers={"Helicone-Request-Id": rid},
    ))
    url = gateway.record(rid)["request_response_url"]
    data = httpx.get(url).json()
    assert data["request"]["messages"][0]["content"] == "hi"
    assert data["response"]["choices"][0]["message"]["content"] == "Hello world"
    assert "data: [DONE]" in data["response_events"]
