"""Which calls reach a receiver: the doc's map-form property filters and the sample rate."""
import uuid

import httpx

from webhook_support import chat, create_webhook, deliveries, wait_until


def delivered_ids(gateway, webhook_id):
    return sorted(d["request_id"] for d in deliveries(gateway, webhook_id))


def test_doc_map_filter_matches_names_in_any_case_and_values_exactly(webhook_gateway, hook_receiver):
    tag = uuid.uuid4().hex
    path = f"/filters-{tag}"
    webhook = create_webhook(webhook_gateway, hook_receiver.url + path,
                             filters={"environment": "production", "userId": "user-123", "run": tag})
    assert sorted(map(tuple, (f.values() for f in webhook["config"]["propertyFilters"]))) == \
        sorted([("environment", "production"), ("userId", "user-123"), ("run", tag)])

    def call(**props):
        return chat(webhook_gateway, "filtered", headers={"Helicone-Property-Run": tag} | {
            f"Helicone-Property-{name}": value for name, value in props.items()})

    doc_example = call(Environment="production", UserId="user-123")
    lowercase_names = call(environment="production", userid="user-123", Extra="ignored")
    misses = [
        call(Environment="Production", UserId="user-123"),
        call(Environment="production", UserId="User-123"),
        call(Environment="production"),
        call(Environment="production-eu", UserId="user-123"),
    ]
    for rid in (doc_example, lowercase_names):
        hook_receiver.wait_for(rid, path)
    # Deliveries are written with the record, so once every record exists the list is complete.
    assert delivered_ids(webhook_gateway, webhook["id"]) == sorted([doc_example, lowercase_names])
    got = sorted(d.payload["request_id"] for d in hook_receiver.received(path))
    assert got == sorted([doc_example, lowercase_names]), misses
    assert hook_receiver.received(path, doc_example)[0].payload["properties"] == \
        {"Run": tag, "Environment": "production", "UserId": "user-123"}


def test_sample_rate_0_50_100(webhook_gateway, hook_receiver):
    tag = uuid.uuid4().hex
    quarters = [f"q{i}" for i in range(4)]
    none = create_webhook(webhook_gateway, hook_receiver.url + f"/rate0-{tag}", sample_rate=0, filters={"Sample": tag})
    every = create_webhook(webhook_gateway, hook_receiver.url + f"/rate100-{tag}", sample_rate=100, filters={"Sample": tag})
    # One 50% webhook per quarter of the calls keeps each delivery list within one page.
    halves = {q: create_webhook(webhook_gateway, hook_receiver.url + f"/rate50-{tag}", sample_rate=50,
                                filters={"Sample": tag, "Quarter": q}) for q in quarters}
    ids = []
    with httpx.Client(timeout=30) as client:
        for i in range(400):
            rid = str(uuid.uuid4())
            r = client.post(webhook_gateway.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []},
                            headers={"Helicone-Request-Id": rid, "Helicone-Property-Sample": tag,
                                     "Helicone-Property-Quarter": quarters[i % 4]})
            assert r.status_code == 200
            ids.append(rid)
    for rid in ids:
        webhook_gateway.record(rid)

    wait_until(lambda: len({d.payload["request_id"] for d in hook_receiver.received(f"/rate100-{tag}")}) == 400,
               30, "400 deliveries at 100%")
    assert sorted(d.payload["request_id"] for d in hook_receiver.received(f"/rate100-{tag}")) == sorted(ids)
    assert delivered_ids(webhook_gateway, none["id"]) == []

    sampled = []
    for q, webhook in halves.items():
        listed, = wait_until(lambda: (lambda ds: (ds,) if all(d["status"] == "succeeded" for d in ds) else None)(
            deliveries(webhook_gateway, webhook["id"])), 30, f"50% deliveries of {q} succeeded")
        assert len(listed) < 100 and {d["request_id"] for d in listed} <= set(ids[quarters.index(q)::4])
        sampled += [d["request_id"] for d in listed]
    assert 140 <= len(sampled) <= 260, len(sampled)
    assert sorted(d.payload["request_id"] for d in hook_receiver.received(f"/rate50-{tag}")) == sorted(sampled)
    assert hook_receiver.received(f"/rate0-{tag}") == []
