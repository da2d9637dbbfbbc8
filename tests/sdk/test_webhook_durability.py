"""A receiver that is down while calls are made still gets every delivery, even when the gateway
is killed with deliveries pending and started again on the same storage; retries and re-sends
keep one webhook-id per delivery."""
import signal
from datetime import datetime, timezone

from conftest import Gateway
from webhook_support import Receiver, api_data, chat, create_webhook, deliveries, wait_until

# The first retry waits 2.4-3.6 s (3 s ± 20%): the gateway is killed in that window, when no
# attempt is in flight (an attempt in flight at a kill keeps its lease for timeout + 60 s).
DURABLE_YAML = """
webhooks:
  allowed_private_hosts: ["127.0.0.1"]
  retry_schedule_seconds: [3, 0.05, 0.05]
  timeout_seconds: 5
"""


def test_deliveries_pending_at_a_kill_arrive_after_restart(provider):
    receiver = Receiver(status=503)
    gateway = Gateway(provider.base_url, extra_yaml=DURABLE_YAML)
    again = None
    try:
        webhook = create_webhook(gateway, receiver.url + "/durable")
        ids = [chat(gateway, f"durable {i}") for i in range(10)]
        failed_once = wait_until(lambda: (lambda ds: ds if len(ds) == 10 and all(d["attempts"] == 1 for d in ds) else None)(
            deliveries(gateway, webhook["id"])), 2, "a first, failed attempt at each delivery")
        killed_at = datetime.now(timezone.utc)
        assert gateway.stop(signal.SIGKILL) == -signal.SIGKILL
        assert all(d["status"] == "pending" and d["attempt_log"][0]["status_code"] == 503 for d in failed_once), failed_once
        assert sorted({d.payload["request_id"] for d in receiver.received(answered=503)}) == sorted(ids)

        receiver.status = 200
        again = Gateway(provider.base_url, storage=gateway.storage, extra_yaml=DURABLE_YAML)
        for rid in ids:
            receiver.wait_for(rid, "/durable", timeout=15)
        message_ids = {}
        for d in receiver.received("/durable"):
            message_ids.setdefault(d.payload["request_id"], set()).add(d.headers["webhook-id"])
        assert all(len(m) == 1 for m in message_ids.values()), message_ids  # repeats keep their webhook-id
        assert len({next(iter(m)) for m in message_ids.values()}) == 10

        done = wait_until(lambda: (lambda ds: ds if all(d["status"] == "succeeded" for d in ds) else None)(
            deliveries(again, webhook["id"])), 10, "every delivery succeeded")
        assert sorted(d["request_id"] for d in done) == sorted(ids)
        for d in done:
            log = d["attempt_log"]
            assert d["webhook_id"] == next(iter(message_ids[d["request_id"]]))
            assert [a["number"] for a in log] == list(range(1, d["attempts"] + 1)) and d["attempts"] >= 2
            assert log[0]["status_code"] == 503 and datetime.fromisoformat(log[0]["started_at"].replace("Z", "+00:00")) < killed_at
            assert log[-1]["status_code"] == 200 and log[-1]["error"] is None
    finally:
        for g in (gateway, again):
            if g and g.process.poll() is None:
                g.stop()
        receiver.stop()


def test_resent_deliveries_arrive_again_with_the_same_webhook_id(webhook_gateway, hook_receiver):
    webhook = create_webhook(webhook_gateway, hook_receiver.url + "/resend")
    rid = chat(webhook_gateway, "send me twice")
    first = hook_receiver.wait_for(rid, "/resend")
    delivery = wait_until(lambda: next((d for d in deliveries(webhook_gateway, webhook["id"])
                                        if d["request_id"] == rid and d["status"] == "succeeded"), None), 10, "first delivery")
    api_data(webhook_gateway.admin_call("POST", f"/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}/resend"))
    wait_until(lambda: len(hook_receiver.received("/resend", rid)) == 2, 10, "the re-sent delivery")
    api_data(webhook_gateway.admin_call("POST", f"/v1/webhooks/{webhook['id']}/resend", {"since": delivery["created_at"]}))
    wait_until(lambda: len(hook_receiver.received("/resend", rid)) == 3, 10, "the delivery re-sent by time")
    copies = hook_receiver.received("/resend", rid)
    assert {d.headers["webhook-id"] for d in copies} == {first.headers["webhook-id"]} == {delivery["webhook_id"]}
    assert all(d.payload["request_id"] == rid for d in copies)
    # The receiver has the third copy a moment before its attempt is logged.
    def logged():
        d = api_data(webhook_gateway.admin_call("GET", f"/v1/webhooks/{webhook['id']}/deliveries/{delivery['id']}"))
        return d if len(d["attempt_log"]) == 3 and d["status"] != "pending" else None
    one = wait_until(logged, 10, "the third attempt logged")
    assert one["status"] == "succeeded" and [a["status_code"] for a in one["attempt_log"]] == [200, 200, 200]
