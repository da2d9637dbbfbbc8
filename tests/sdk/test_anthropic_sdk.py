"""The official Anthropic Python SDK through the gateway: answers unchanged, cache tokens counted
and priced the Anthropic way (its input_tokens exclude cache reads and writes)."""
import uuid

import anthropic
import pytest

# claude-sonnet-4-5: 100 input × 3 + 1000 cache reads × 0.30 + 300 5-minute writes × 3.75
# + 200 1-hour writes × 6 + 50 output × 15, per million tokens.
EXPECTED_COST = (100 * 3 + 1000 * 0.3 + 300 * 3.75 + 200 * 6 + 50 * 15) / 1e6


def client(gateway):
    return anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key="sk-ant-test", max_retries=0)


def test_message_answer_and_record(gateway, provider):
    rid = str(uuid.uuid4())
    message = client(gateway).messages.create(
        model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "Bonjour"}],
        metadata={"user_id": "anthropic-user-1"}, extra_headers={"Helicone-Request-Id": rid},
    )
    assert message.content[0].text == "Bonjour 👋"
    sent = provider.requests[-1]["headers"]
    assert "sk-ant-test" in (sent.get("x-api-key", "") + sent.get("authorization", ""))

    record = gateway.record(rid)
    assert record["provider"] == "anthropic"
    assert record["user_id"] == "anthropic-user-1"
    assert record["prompt_tokens"] == 1600
    assert record["completion_tokens"] == 50
    assert record["total_tokens"] == 1650
    assert record["cache_read_tokens"] == 1000
    assert record["cache_write_tokens"] == 500
    assert record["cost_usd"] == pytest.approx(EXPECTED_COST, rel=1e-9)


def test_streamed_message_and_record(gateway):
    rid = str(uuid.uuid4())
    with client(gateway).messages.stream(
        model="claude-sonnet-4-5", max_tokens=100, messages=[{"role": "user", "content": "Bonjour"}],
        extra_headers={"Helicone-Request-Id": rid},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Bonjour"
    assert final.usage.output_tokens == 50

    record = gateway.record(rid)
    assert record["stream"] is True
    assert record["model"] == "claude-sonnet-4-5"
    assert (record["prompt_tokens"], record["completion_tokens"]) == (1600, 50)
    assert record["cost_usd"] == pytest.approx(EXPECTED_COST, rel=1e-9)
    assert record["time_to_first_token_ms"] is not None
