"""The receiver from Helicone's webhook doc, run under Node against real deliveries: it verifies
the signature over JSON.stringify(JSON.parse(body)), so any byte Tollgate writes differently
from JavaScript (escapes, number format, Unicode, key order) makes it answer 401."""
import json

import httpx
import pytest

from fake_provider import chat_completion
from webhook_support import NodeReceiver, chat, create_webhook, deliveries, wait_until

# Text that JSON writers disagree on: non-ASCII, astral emoji, "/", quotes, backslash, newline,
# tab, C0 controls, DEL, the JavaScript line separators, and HTML-ish characters.
PROMPT = 'Grüße, 世界 🌍🎉 / "quoted" \\ back\nnew line\ttab \u0001\u001f\u007f \u2028\u2029 <b>&amp;</b>'
ANSWER = 'Réponse ✓ 😀 / "q" \\ \r\n\b\f\u0000 \u0001 fin'
# The body's `user` becomes the payload's user_id as characters (not escapes), so the payload
# writer itself has to escape them as JavaScript does.
BODY_USER = "ctl\u0001\u001f\u007f\u2028 tab\t nl\n 🎉 \\ \"/"
# gpt-5-nano costs $0.05 per million input tokens: 3 tokens cost 1.5e-7, which JavaScript writes
# in exponent form.
NANO_USAGE = {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3}


@pytest.fixture(scope="module")
def node_hook(webhook_gateway):
    # The secret goes into the receiver's environment before it starts, so the webhook is made
    # first, then pointed at the receiver.
    webhook = create_webhook(webhook_gateway, "http://127.0.0.1:9/not-yet")
    node = NodeReceiver(webhook["hmac_key"])
    patched = webhook_gateway.admin_call("PATCH", f"/v1/webhooks/{webhook['id']}", {"destination": node.url + "/helicone"})
    assert patched.status_code == 200, patched.text
    yield webhook, node
    node.stop()
    webhook_gateway.admin_call("DELETE", f"/v1/webhooks/{webhook['id']}")


def test_doc_receiver_verifies_every_delivery_and_reads_prompt_and_answer(webhook_gateway, node_hook, answers):
    webhook, node = node_hook
    answers[PROMPT] = json.dumps(chat_completion("gpt-5-nano", ANSWER, NANO_USAGE), ensure_ascii=False).encode()
    answers[PROMPT + " (user)"] = json.dumps(chat_completion("gpt-4o-mini", ANSWER), ensure_ascii=False).encode()
    priced = chat(webhook_gateway, PROMPT, model="gpt-5-nano", headers={"Helicone-User-Id": 'user/1 "q" é'.encode()})
    body_user = chat(webhook_gateway, raw=json.dumps(
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT + " (user)"}], "user": BODY_USER}).encode())
    streamed = chat(webhook_gateway, PROMPT + " (stream)", stream=True)

    expected = {
        priced: {"prompt": PROMPT, "response": ANSWER, "user_id": 'user/1 "q" é', "model": "gpt-5-nano"},
        body_user: {"prompt": PROMPT + " (user)", "response": ANSWER, "user_id": BODY_USER, "model": "gpt-4o-mini"},
        streamed: {"prompt": PROMPT + " (stream)", "response": "Hello world", "user_id": None, "model": "gpt-4o-mini"},
    }
    for rid, want in expected.items():
        got = node.record_for(rid)
        assert got.get("error") is None and got["valid"] is True and got["status"] == 200, got
        assert {k: got.get(k) for k in want} == want, rid
        assert got["provider"] == "openai"
        record = webhook_gateway.record(rid)
        assert got["metadata"]["cost"] == record["cost_usd"]
        assert [got["metadata"][k] for k in ("promptTokens", "completionTokens", "totalTokens")] == \
            [record["prompt_tokens"], record["completion_tokens"], record["total_tokens"]]
        assert "request_body" in json.loads(NodeReceiver.raw(got))

    priced_body = NodeReceiver.raw(node.record_for(priced))
    assert abs(node.record_for(priced)["metadata"]["cost"] - 1.5e-7) < 1e-18
    assert b'"cost":1.5' in priced_body and b"e-7," in priced_body, priced_body[-400:]
    assert b'"user_id":"ctl\\u0001\\u001f\x7f\xe2\x80\xa8 tab\\t nl\\n \xf0\x9f\x8e\x89 \\\\ \\"/"' in \
        NodeReceiver.raw(node.record_for(body_user))
    # A receiver has a delivery a moment before its attempt is logged.
    def logged():
        statuses = {d["request_id"]: d["status"] for d in deliveries(webhook_gateway, webhook["id"])}
        return statuses if all(statuses.get(rid) == "succeeded" for rid in expected) else None
    wait_until(logged, 10, lambda: f"deliveries logged as succeeded: {[d['status'] for d in deliveries(webhook_gateway, webhook['id'])]}")


def test_doc_receiver_rejects_a_delivery_altered_by_one_byte(webhook_gateway, node_hook):
    _, node = node_hook
    rid = chat(webhook_gateway, PROMPT)
    captured = node.record_for(rid)
    body = NodeReceiver.raw(captured)
    headers = {"content-type": "application/json", "helicone-signature": captured["signature"]}
    same = httpx.post(node.url + "/helicone", content=body, headers=headers)
    assert same.status_code == 200, same.text

    at = body.index(rid.encode()) + 9  # a hex digit inside the request_id: still valid JSON
    altered = body[:at] + (b"a" if body[at:at + 1] != b"a" else b"b") + body[at + 1:]
    assert len(altered) == len(body) and sum(x != y for x, y in zip(altered, body)) == 1
    rejected = httpx.post(node.url + "/helicone", content=altered, headers=headers)
    assert rejected.status_code == 401, rejected.text
    assert rejected.json() == {"error": "Unauthorized"}
