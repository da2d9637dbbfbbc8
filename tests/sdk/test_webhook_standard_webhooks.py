"""Receivers using the `standardwebhooks` package verify Tollgate's webhook-* headers with the
webhook_secret, and get its replay protection: stale timestamps are refused."""
import base64
import json
import time
from datetime import datetime, timedelta

import pytest
from standardwebhooks import webhooks as sw
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhook_support import api_data, chat, create_webhook, wait_until


@pytest.fixture(scope="module")
def hook(webhook_gateway, hook_receiver):
    webhook = create_webhook(webhook_gateway, hook_receiver.url + "/standard")
    yield webhook
    webhook_gateway.admin_call("DELETE", f"/v1/webhooks/{webhook['id']}")


def test_standardwebhooks_verifies_real_deliveries(webhook_gateway, hook_receiver, hook):
    rid = chat(webhook_gateway, "standard ✓ 🎉", headers={"Helicone-User-Id": "sw-user"})
    delivery = hook_receiver.wait_for(rid, "/standard")
    verified = Webhook(hook["webhook_secret"]).verify(delivery.body, delivery.headers)
    assert verified == json.loads(delivery.body) and verified["request_id"] == rid
    assert abs(int(delivery.headers["webhook-timestamp"]) - time.time()) < 30
    assert delivery.headers["webhook-id"].startswith("msg_")
    assert delivery.headers["content-type"] == "application/json"

    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(hook["webhook_secret"]).verify(delivery.body.replace(b"sw-user", b"sw-usEr"), delivery.headers)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook("whsec_" + base64.b64encode(b"whk_" + b"0" * 48).decode()).verify(delivery.body, delivery.headers)


def test_standardwebhooks_refuses_a_replay_outside_its_tolerance(webhook_gateway, hook_receiver, hook, monkeypatch):
    rid = chat(webhook_gateway, "replay me")
    delivery = hook_receiver.wait_for(rid, "/standard")
    verifier = Webhook(hook["webhook_secret"])
    verifier.verify(delivery.body, delivery.headers)

    stale = dict(delivery.headers, **{"webhook-timestamp": str(int(delivery.headers["webhook-timestamp"]) - 600)})
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(delivery.body, stale)

    class TenMinutesLater(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(minutes=10)

    monkeypatch.setattr(sw, "datetime", TenMinutesLater)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(delivery.body, delivery.headers)


def test_after_key_rotation_both_secrets_verify_until_the_grace_ends(webhook_gateway, hook_receiver, hook):
    rotated = api_data(webhook_gateway.admin_call("POST", f"/v1/webhooks/{hook['id']}/rotate-key"))
    assert rotated["hmac_key"] != hook["hmac_key"] and rotated["webhook_secret"] != hook["webhook_secret"]
    rid = chat(webhook_gateway, "after rotation")
    delivery = hook_receiver.wait_for(rid, "/standard")
    Webhook(rotated["webhook_secret"]).verify(delivery.body, delivery.headers)
    Webhook(hook["webhook_secret"]).verify(delivery.body, delivery.headers)
    hook.update(rotated)  # later tests in this module use the current key


def test_test_endpoint_sends_a_verifiable_sample(webhook_gateway, hook_receiver, hook):
    sent = api_data(webhook_gateway.admin_call("POST", f"/v1/webhooks/{hook['id']}/test"))
    delivery = wait_until(lambda: [d for d in hook_receiver.received("/standard") if d.headers["webhook-id"] == sent["webhook_id"]],
                          10, "the test delivery")[0]
    payload = Webhook(hook["webhook_secret"]).verify(delivery.body, delivery.headers)
    assert list(payload)[:8] == ["request_id", "user_id", "request_body", "response_body", "request_response_url",
                                 "model", "provider", "metadata"]
