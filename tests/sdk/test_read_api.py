"""The read API: filters, cursor paging and per-group stats, as an operator uses them."""
import uuid

import httpx


def call(gateway, user, env, model="gpt-4o-mini"):
    rid = str(uuid.uuid4())
    r = httpx.post(gateway.url + "/v1/chat/completions", json={"model": model, "messages": []},
                   headers={"Helicone-Request-Id": rid, "Helicone-User-Id": user, "Helicone-Property-Env": env})
    assert r.status_code == 200
    return rid


def test_filters_paging_and_stats(gateway):
    tag = uuid.uuid4().hex[:8]
    ids = [call(gateway, f"alice-{tag}", "prod") for _ in range(5)] + [call(gateway, f"bob-{tag}", "dev") for _ in range(2)]
    for rid in ids:
        gateway.record(rid)

    alice = gateway.admin("/v1/requests", user_id=f"alice-{tag}").json()
    assert sorted(r["id"] for r in alice["data"]) == sorted(ids[:5])

    dev = gateway.admin("/v1/requests", **{"property.env": "dev", "user_id": f"bob-{tag}"}).json()
    assert sorted(r["id"] for r in dev["data"]) == sorted(ids[5:])
    wrong_case = gateway.admin("/v1/requests", **{"property.Env": "DEV", "user_id": f"bob-{tag}"}).json()
    assert wrong_case["data"] == []

    pages, cursor = [], None
    while True:
        params = {"user_id": f"alice-{tag}", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = gateway.admin("/v1/requests", **params).json()
        pages.append([r["id"] for r in page["data"]])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(sum(pages, [])) == sorted(ids[:5])
    created = [r["created_at"] for r in alice["data"]]
    assert created == sorted(created, reverse=True)

    stats = {row["group"]: row for row in gateway.admin("/v1/stats", group_by="user").json()["data"]}
    assert stats[f"alice-{tag}"]["count"] == 5
    assert stats[f"alice-{tag}"]["total_tokens"] == 5 * 1200
    assert abs(stats[f"alice-{tag}"]["cost_usd"] - 5 * 0.00024) < 1e-12
    assert stats[f"bob-{tag}"]["latency_p50_ms"] is not None

    assert gateway.admin("/v1/requests", status="abc").status_code == 400
    assert httpx.get(gateway.url + "/v1/requests").status_code == 401
    assert httpx.get(gateway.url + "/v1/requests", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_unpriced_model_has_null_cost_and_is_counted(gateway):
    rid = call(gateway, "carol", "prod", model="my-private-finetune")
    record = gateway.record(rid)
    assert record["total_tokens"] == 1200
    assert record["cost_usd"] is None
    metrics = httpx.get(gateway.url + "/metrics").text
    line = next(l for l in metrics.splitlines() if l.startswith("tollgate_unpriced_requests_total"))
    assert float(line.split()[-1]) >= 1


def test_a_property_name_with_characters_a_query_must_encode_filters_its_calls(gateway):
    tag = uuid.uuid4().hex[:8]
    rid = str(uuid.uuid4())
    r = httpx.post(gateway.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []},
                   headers={"Helicone-Request-Id": rid, "Helicone-Property-Team&Region": f"eu-{tag}"})
    assert r.status_code == 200
    gateway.record(rid)
    # httpx sends the name as property.team%26region: the API must decode it like the value.
    found = gateway.admin("/v1/requests", **{"property.team&region": f"eu-{tag}"}).json()
    assert [row["id"] for row in found["data"]] == [rid]
    assert found["data"][0]["properties"] == {"Team&Region": f"eu-{tag}"}
