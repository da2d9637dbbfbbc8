"""SPEC §7, the gateway controls a Helicone user already sends, through the official SDKs against
the real binary: the response cache, retries, rate limits and fallbacks, and the 400 a malformed
control header gets. Fake providers script their failures per test (`X-Fake-Script`, see
fake_provider.py), so the tests can count what reached them and read what was sent.

Expected costs are worked out by hand from the published prices (test_pricing.py): gpt-4o-mini
is $0.15 input, $0.075 cached input, $0.60 output per million tokens. The last two tests run two
gateways on one PostgreSQL and need TOLLGATE_TEST_POSTGRES_URL (scripts/test starts one)."""
import concurrent.futures
import json
import os
import time
import uuid

import anthropic
import httpx
import openai
import pytest

from conftest import SUITE_POSTGRES, Gateway
from fake_provider import ClosedPort, FakeProvider, Reply, anthropic_events, chat_chunks, chat_completion
from shared_http import HTTP

PROVIDER_KEY = "sk-test-provider-key"
ALPHA, BETA, LIMITED = "gk-controls-alpha", "gk-controls-beta", "gk-controls-limited"
# The fake provider's usual answer: 1000 prompt tokens (400 cached) and 200 completion tokens:
# 600 × 0.15 + 400 × 0.075 + 200 × 0.60 = 240 per million.
GPT_4O_MINI_COST = 0.00024
RETRY = {"Helicone-Retry-Enabled": "true", "Helicone-Retry-Num": "3", "Helicone-Retry-Factor": "2",
         "Helicone-Retry-Min-Timeout": "10", "Helicone-Retry-Max-Timeout": "200"}
CACHE = {"Helicone-Cache-Enabled": "true"}
POSTGRES = os.environ.get("TOLLGATE_TEST_POSTGRES_URL")


class World:
    """The module's gateway and everything it talks to."""

    def __init__(self, primary):
        self.primary = primary  # providers.openai
        self.claude = FakeProvider()  # providers.anthropic, an origin of its own
        self.backup = FakeProvider()  # on routing.allowed_target_urls
        self.second_backup = FakeProvider()  # on routing.allowed_target_urls
        self.unlisted = FakeProvider()  # on no list
        self.dead_port = ClosedPort()  # held for the module: no other server can take it
        self.dead = self.dead_port.url  # allowed, but nobody listens
        self.late_port = ClosedPort()  # allowed; a test starts a provider there while a call waits to retry
        self.late = self.late_port.url
        self.gateway = Gateway(primary.base_url, extra_env={"TOLLGATE_PROVIDERS_ANTHROPIC_BASE_URL": self.claude.base_url}, extra_yaml=f"""
auth:
  gateway_keys:
    - key: {ALPHA}
      project: alpha
    - key: {BETA}
      project: beta
    - key: {LIMITED}
      project: limited
      rate_limits: "2;w=60"
routing:
  allowed_target_urls: ["{self.backup.base_url}", "{self.second_backup.base_url}", "{self.dead}", "{self.late}"]
""")

    def stop(self):
        self.gateway.stop()
        for p in (self.claude, self.backup, self.second_backup, self.unlisted):
            p.stop()


@pytest.fixture(scope="module")
def world(provider):
    w = World(provider)
    yield w
    w.stop()


def tag():
    """A fresh name: a script for the fake providers, a prompt, a user, a property value."""
    return uuid.uuid4().hex[:12]


def prompt(text):
    return [{"role": "user", "content": text}]


def oai(gateway, script=None, key=ALPHA, base="/openai/v1"):
    headers = {"Helicone-Auth": f"Bearer {key}"}
    if script:
        headers["X-Fake-Script"] = script
    return openai.OpenAI(base_url=gateway.url + base, api_key=PROVIDER_KEY, max_retries=0, timeout=30, default_headers=headers)


def claude(gateway, script=None, key=ALPHA):
    headers = {"Helicone-Auth": f"Bearer {key}"}
    if script:
        headers["X-Fake-Script"] = script
    return anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key="sk-ant-test", max_retries=0, timeout=30, default_headers=headers)


def chat(client, headers=None, **kw):
    """One chat completion through the SDK: (the HTTP answer, the parsed completion or None when
    the SDK raised for its status)."""
    kw.setdefault("model", "gpt-4o-mini")
    try:
        raw = client.chat.completions.with_raw_response.create(extra_headers=headers or {}, **kw)
        return raw.http_response, raw.parse()
    except openai.APIStatusError as e:
        return e.response, None


def post(gateway, body, headers=None, key=ALPHA, script=None, path="/openai/v1/chat/completions"):
    """A call with plain httpx, for comparing bytes. `body` is sent as is when it is bytes."""
    h = {"Helicone-Auth": f"Bearer {key}", "Authorization": f"Bearer {PROVIDER_KEY}", "Content-Type": "application/json"}
    if script:
        h["X-Fake-Script"] = script
    h.update(headers or {})
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HTTP.post(gateway.url + path, content=content, headers=h)


def record_of(gateway, answer):
    return gateway.record(answer.headers["helicone-id"])


def error_of(answer):
    return answer.json()["error"]


# ---------------------------------------------------------------------------------------------
# Malformed control headers


@pytest.mark.parametrize("headers, named", [
    pytest.param({**CACHE, "Helicone-Cache-Bucket-Max-Size": "50"}, "Helicone-Cache-Bucket-Max-Size", id="bucket-size-50"),
    pytest.param({"Helicone-Cache-Enabled": "yes please"}, "Helicone-Cache-Enabled", id="cache-enabled-not-boolean"),
    pytest.param({**CACHE, "Cache-Control": "max-age=soon"}, "Cache-Control", id="max-age-not-a-number"),
    pytest.param({"Helicone-RateLimit-Policy": "abc"}, "Helicone-RateLimit-Policy", id="policy-abc"),
    pytest.param({"Helicone-RateLimit-Policy": "10;w=5"}, "Helicone-RateLimit-Policy", id="policy-window-under-60"),
    pytest.param({"Helicone-Retry-Enabled": "true", "Helicone-Retry-Num": "x"}, "Helicone-Retry-Num", id="retry-num-x"),
    pytest.param({"Helicone-Retry-Enabled": "true", "Helicone-Retry-Factor": "fast"}, "Helicone-Retry-Factor", id="retry-factor-word"),
    pytest.param({**RETRY, "Helicone-Retry-Min-Timeout": "500", "Helicone-Retry-Max-Timeout": "100"}, "Helicone-Retry-Min-Timeout", id="retry-min-above-max"),
    pytest.param({"Helicone-Fallbacks": "{"}, "Helicone-Fallbacks", id="fallbacks-not-json"),
    pytest.param({"Helicone-Fallbacks": '[{"headers": {}}]'}, "Helicone-Fallbacks", id="fallback-without-target"),
    pytest.param({"Helicone-Fallbacks": '[{"target-url": "ftp://127.0.0.1:21"}]'}, "Helicone-Fallbacks", id="fallback-not-http"),
    # The brief's examples name these alone, without the header that turns their control on: a
    # value the gateway would otherwise silently not use.
    pytest.param({"Helicone-Cache-Bucket-Max-Size": "50"}, "Helicone-Cache-Bucket-Max-Size", id="bucket-size-50-alone"),
    pytest.param({"Helicone-Retry-Num": "x"}, "Helicone-Retry-Num", id="retry-num-x-alone"),
])
def test_malformed_control_header_is_refused_with_400_naming_it_and_nothing_is_sent(world, headers, named):
    script = tag()
    answer, completion = chat(oai(world.gateway, script), headers, messages=prompt("malformed " + script))
    assert completion is None
    assert answer.status_code == 400, answer.text
    error = error_of(answer)
    assert error["type"] == "invalid_header"
    assert named.lower() in error["message"].lower(), error["message"]
    assert world.primary.received(script) == []


# ---------------------------------------------------------------------------------------------
# Cache


def test_second_identical_call_is_served_from_cache_without_reaching_provider(world):
    script = tag()
    world.primary.script(script, [Reply(200, chat_completion("gpt-4o-mini", content=f"first answer {script}"))])
    client = oai(world.gateway, script)
    miss, first = chat(client, CACHE, messages=prompt("cache me " + script))
    hit, second = chat(client, CACHE, messages=prompt("cache me " + script))
    assert miss.status_code == hit.status_code == 200
    assert miss.headers["helicone-cache"] == "MISS"
    assert "helicone-cache-bucket-idx" not in miss.headers
    assert hit.headers["helicone-cache"] == "HIT"
    assert hit.headers["helicone-cache-bucket-idx"] == "0"
    assert len(world.primary.received(script)) == 1
    # The provider would now answer differently: the hit is the first answer, parsed and raw.
    assert second.choices[0].message.content == f"first answer {script}"
    assert second.model_dump() == first.model_dump()
    assert hit.content == miss.content
    assert hit.headers["helicone-id"] != miss.headers["helicone-id"]


def test_cache_hit_is_recorded_as_free_with_the_cost_it_saved(world):
    client = oai(world.gateway)
    text = "record the hit " + tag()
    miss, _ = chat(client, CACHE, messages=prompt(text))
    hit, _ = chat(client, CACHE, messages=prompt(text))
    assert (miss.headers["helicone-cache"], hit.headers["helicone-cache"]) == ("MISS", "HIT")
    missed = record_of(world.gateway, miss)
    assert missed["cache_hit"] is False
    assert missed["cost_usd"] == pytest.approx(GPT_4O_MINI_COST, rel=1e-9)
    hitting = record_of(world.gateway, hit)
    assert hitting["cache_hit"] is True
    assert hitting["status"] == 200
    assert hitting["cost_usd"] == 0
    assert hitting["cost_saved_usd"] == pytest.approx(GPT_4O_MINI_COST, rel=1e-9)
    assert hitting["attempts"] is None  # neither retries nor fallbacks were asked for


def test_cached_json_answer_is_the_first_answers_exact_bytes(world):
    script = tag()
    # Spacing, escapes and key order a re-serialisation would change.
    odd = ('{"id":"chatcmpl-raw" ,  "object":"chat.completion","created":1764547200,"model":"gpt-4o-mini",'
           '"choices":[{"index":0,"message":{"role":"assistant","content":"caf\\u00e9 \u2014 %s \\/ ok"},'
           '"finish_reason":"stop"}],\n "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}\n' % script).encode()
    world.primary.script(script, [Reply(200, odd)])
    body = {"model": "gpt-4o-mini", "messages": prompt("bytes " + script)}
    miss = post(world.gateway, body, CACHE, script=script)
    hit = post(world.gateway, body, CACHE, script=script)
    assert miss.content == odd
    assert (miss.headers["helicone-cache"], hit.headers["helicone-cache"]) == ("MISS", "HIT")
    assert hit.content == odd
    assert hit.headers["content-type"] == miss.headers["content-type"]
    assert len(world.primary.received(script)) == 1


def streamed(raw):
    """A stream through the SDK's raw response: its bytes as they arrived, then the SDK's events
    read from those bytes."""
    data = raw.http_response.read()
    return data, list(raw.parse())


def test_cached_openai_stream_replays_the_same_events(world):
    script = tag()
    events = [e.replace('"Hello"', f'"Hello {script}"') for e in chat_chunks("gpt-4o-mini", True)]
    world.primary.script(script, [Reply(200, events=events)])
    client = oai(world.gateway, script)

    def call():
        return client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=prompt("stream " + script), stream=True, extra_headers=CACHE)
    miss = call()
    first, first_chunks = streamed(miss)  # the first call completes before the second starts
    hit = call()
    replayed, chunks = streamed(hit)
    assert (miss.headers["helicone-cache"], hit.headers["helicone-cache"]) == ("MISS", "HIT")
    assert hit.headers["content-type"].startswith("text/event-stream")
    assert replayed == first
    # The SDK reads the replayed stream as it read the first: no usage chunk, since none was asked.
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"Hello {script} world"
    assert all(c.usage is None for c in chunks)
    assert [c.model_dump() for c in chunks] == [c.model_dump() for c in first_chunks]
    assert len(world.primary.received(script)) == 1


def test_cached_anthropic_stream_replays_the_same_events(world):
    script = tag()
    events = [e.replace('"Bon"', f'"Bon {script} "') for e in anthropic_events("claude-sonnet-4-5")]
    world.claude.script(script, [Reply(200, events=events)])
    client = claude(world.gateway, script)

    def call():
        return client.messages.with_raw_response.create(
            model="claude-sonnet-4-5", max_tokens=100, messages=prompt("bonjour " + script), stream=True, extra_headers=CACHE)
    miss = call()
    first, _ = streamed(miss)  # the first call completes before the second starts
    hit = call()
    replayed, replayed_events = streamed(hit)
    assert (miss.headers["helicone-cache"], hit.headers["helicone-cache"]) == ("MISS", "HIT")
    assert replayed == first
    assert replayed == "".join(events).encode()  # Anthropic streams pass untouched
    text = "".join(e.delta.text for e in replayed_events if e.type == "content_block_delta")
    assert text == f"Bon {script} jour"
    assert len(world.claude.received(script)) == 1
    # claude-sonnet-4-5: 100 input × 3 + 1000 cache reads × 0.30 + 300 5-minute writes × 3.75
    # + 200 1-hour writes × 6 + 50 output × 15, per million tokens (test_anthropic_sdk.py).
    cost = (100 * 3 + 1000 * 0.3 + 300 * 3.75 + 200 * 6 + 50 * 15) / 1e6
    assert record_of(world.gateway, miss.http_response)["cost_usd"] == pytest.approx(cost, rel=1e-9)
    hit_record = record_of(world.gateway, hit.http_response)
    assert (hit_record["cache_hit"], hit_record["stream"], hit_record["cost_usd"]) == (True, True, 0)
    assert hit_record["cost_saved_usd"] == pytest.approx(cost, rel=1e-9)


def test_failed_answers_are_not_cached(world):
    script = tag()
    world.primary.script(script, [500])
    client = oai(world.gateway, script)
    text = "fail first " + script
    failed, _ = chat(client, CACHE, messages=prompt(text))
    assert failed.status_code == 500
    assert failed.headers["helicone-cache"] == "MISS"
    retried, completion = chat(client, CACHE, messages=prompt(text))
    assert retried.status_code == 200 and completion is not None
    assert retried.headers["helicone-cache"] == "MISS"
    again, _ = chat(client, CACHE, messages=prompt(text))
    assert again.headers["helicone-cache"] == "HIT"
    assert again.content == retried.content
    assert len(world.primary.received(script)) == 2


def test_stream_broken_off_by_the_provider_is_not_cached(world):
    script = tag()
    events = chat_chunks("gpt-4o-mini", True)
    world.primary.script(script, [Reply(200, events=events[:3], cut=True)])
    body = {"model": "gpt-4o-mini", "messages": prompt("broken " + script), "stream": True}
    with pytest.raises(httpx.RemoteProtocolError):  # the client sees the cut, never a clean end
        post(world.gateway, body, CACHE, script=script)
    again = post(world.gateway, body, CACHE, script=script)
    assert again.headers["helicone-cache"] == "MISS"
    assert again.content.endswith(b"data: [DONE]\n\n")
    assert len(world.primary.received(script)) == 2


def test_stream_the_client_abandoned_is_never_served_cut_short(world):
    script = tag()
    events = chat_chunks("gpt-4o-mini", True)
    long = events[:1] + [events[1]] * 40 + events[2:]
    world.primary.script(script, [], then=Reply(200, events=long, pause=0.02))
    body = {"model": "gpt-4o-mini", "messages": prompt("abandoned " + script), "stream": True}
    headers = {**CACHE, "Helicone-Auth": f"Bearer {ALPHA}", "Authorization": f"Bearer {PROVIDER_KEY}", "X-Fake-Script": script}
    with HTTP.stream("POST", world.gateway.url + "/openai/v1/chat/completions", json=body, headers=headers) as first:
        assert first.headers["helicone-cache"] == "MISS"
        next(first.iter_raw())  # one chunk, then the client goes away
    again = post(world.gateway, body, CACHE, script=script)
    assert again.status_code == 200
    # A miss, or the whole answer if the gateway finished reading it: never the part the client got.
    assert again.content.count(b'"content":"Hello"') == 40
    assert again.content.endswith(b"data: [DONE]\n\n")


def test_cache_key_leaves_out_provider_credentials_and_the_store_never_keeps_them(world):
    script = tag()
    text = "credentials " + script
    one = openai.OpenAI(base_url=world.gateway.url + "/openai/v1", api_key=f"sk-first-{script}", max_retries=0,
                        default_headers={"Helicone-Auth": f"Bearer {ALPHA}", "X-Fake-Script": script})
    two = openai.OpenAI(base_url=world.gateway.url + "/openai/v1", api_key=f"sk-second-{script}", max_retries=0,
                        default_headers={"Helicone-Auth": f"Bearer {ALPHA}", "X-Fake-Script": script})
    miss, _ = chat(one, CACHE, messages=prompt(text))
    hit, _ = chat(two, CACHE, messages=prompt(text))
    assert (miss.headers["helicone-cache"], hit.headers["helicone-cache"]) == ("MISS", "HIT")
    assert len(world.primary.received(script)) == 1
    record_of(world.gateway, hit)  # both calls and the cached answer are written by now
    if SUITE_POSTGRES:
        return  # the store is a PostgreSQL schema here; the SQLite pass reads the files
    for name in os.listdir(world.gateway.storage):
        if name.startswith("tollgate.sqlite"):
            with open(os.path.join(world.gateway.storage, name), "rb") as f:
                data = f.read()
            assert f"sk-first-{script}".encode() not in data, name
            assert f"sk-second-{script}".encode() not in data, name


def test_cached_answer_expires_after_its_max_age(world):
    script = tag()
    client = oai(world.gateway, script)
    headers = {**CACHE, "Cache-Control": "max-age=1"}
    text = "short lived " + script
    assert chat(client, headers, messages=prompt(text))[0].headers["helicone-cache"] == "MISS"
    assert chat(client, headers, messages=prompt(text))[0].headers["helicone-cache"] == "HIT"
    time.sleep(2)
    assert chat(client, headers, messages=prompt(text))[0].headers["helicone-cache"] == "MISS"
    assert len(world.primary.received(script)) == 2


def test_bucket_keeps_n_different_answers_and_serves_one_of_them(world):
    script = tag()
    kept = [f"answer {i} {script}" for i in range(3)]
    world.primary.script(script, [Reply(200, chat_completion("gpt-4o-mini", content=c)) for c in kept],
                         then=Reply(200, chat_completion("gpt-4o-mini", content=f"late answer {script}")))
    client = oai(world.gateway, script)
    headers = {**CACHE, "Helicone-Cache-Bucket-Max-Size": "3"}
    text = "bucket " + script
    first = [chat(client, headers, messages=prompt(text)) for _ in range(3)]
    assert [a.headers["helicone-cache"] for a, _ in first] == ["MISS"] * 3
    assert [c.choices[0].message.content for _, c in first] == kept
    assert len(world.primary.received(script)) == 3
    served = {}
    for _ in range(8):
        answer, completion = chat(client, headers, messages=prompt(text))
        assert answer.headers["helicone-cache"] == "HIT"
        idx = int(answer.headers["helicone-cache-bucket-idx"])
        assert 0 <= idx < 3
        content = completion.choices[0].message.content
        assert content in kept
        assert served.setdefault(idx, content) == content  # one slot, one answer
    assert len(world.primary.received(script)) == 3


def test_different_cache_seeds_do_not_share_answers(world):
    script = tag()
    client = oai(world.gateway, script)
    text = "seeded " + script
    one = {**CACHE, "Helicone-Cache-Seed": "seed-one"}
    two = {**CACHE, "Helicone-Cache-Seed": "seed-two"}
    assert chat(client, one, messages=prompt(text))[0].headers["helicone-cache"] == "MISS"
    assert chat(client, two, messages=prompt(text))[0].headers["helicone-cache"] == "MISS"
    assert chat(client, one, messages=prompt(text))[0].headers["helicone-cache"] == "HIT"
    assert chat(client, two, messages=prompt(text))[0].headers["helicone-cache"] == "HIT"
    assert len(world.primary.received(script)) == 2


def test_bodies_differing_only_in_ignored_keys_share_an_answer(world):
    script = tag()
    client = oai(world.gateway, script)
    text = "ignore keys " + script
    ignoring = {**CACHE, "Helicone-Cache-Ignore-Keys": "user,metadata"}
    assert chat(client, ignoring, messages=prompt(text), user="u-1", metadata={"trace": "1"})[0].headers["helicone-cache"] == "MISS"
    assert chat(client, ignoring, messages=prompt(text), user="u-2", metadata={"trace": "2"})[0].headers["helicone-cache"] == "HIT"
    assert chat(client, ignoring, messages=prompt(text))[0].headers["helicone-cache"] == "HIT"
    # Any other difference is a different key, and without the header `user` counts too.
    assert chat(client, ignoring, messages=prompt(text), temperature=0.5)[0].headers["helicone-cache"] == "MISS"
    assert chat(client, CACHE, messages=prompt(text), user="u-3")[0].headers["helicone-cache"] == "MISS"
    assert len(world.primary.received(script)) == 3


def test_projects_never_share_cached_answers(world):
    script = tag()
    text = "per project " + script
    assert chat(oai(world.gateway, script, key=ALPHA), CACHE, messages=prompt(text))[0].headers["helicone-cache"] == "MISS"
    assert chat(oai(world.gateway, script, key=BETA), CACHE, messages=prompt(text))[0].headers["helicone-cache"] == "MISS"
    assert chat(oai(world.gateway, script, key=BETA), CACHE, messages=prompt(text))[0].headers["helicone-cache"] == "HIT"
    assert len(world.primary.received(script)) == 2


# ---------------------------------------------------------------------------------------------
# Retries


def attempts_of(record):
    return [(a["status"], a["url"]) for a in record["attempts"]]


def test_provider_failing_twice_then_answering_gives_the_client_the_answer(world):
    script = tag()
    world.primary.script(script, [500, 500])
    # Bytes a re-serialisation would change: every attempt must carry exactly these.
    sent = ('{"model":"gpt-4o-mini",  "messages":[{"role":"user","content":"retry \u00e9 %s"}] }' % script).encode()
    answer = post(world.gateway, sent, RETRY, script=script)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == "Hello from the fake provider / “quoted”"
    received = world.primary.received(script)
    assert len(received) == 3
    assert [r["body"] for r in received] == [sent] * 3
    record = record_of(world.gateway, answer)
    assert record["status"] == 200
    attempts = record["attempts"]
    assert [a["status"] for a in attempts] == [500, 500, 200]
    assert all(a["url"].startswith(world.primary.base_url) for a in attempts)
    assert all(isinstance(a["duration_ms"], (int, float)) and a["duration_ms"] >= 0 for a in attempts)
    assert all("scripted failure 500" in a["response"] for a in attempts[:2])
    assert attempts[2]["response"] is None  # the answer given to the client is the record's body
    assert attempts[2]["error"] is None


def test_provider_that_keeps_failing_gives_the_client_the_last_failure_after_every_retry(world):
    script = tag()
    world.primary.script(script, [502, 500], then=Reply(503, {"error": {"message": f"last failure {script}"}}))
    headers = {**RETRY, "Helicone-Retry-Num": "2", "Helicone-Retry-Min-Timeout": "150", "Helicone-Retry-Max-Timeout": "400"}
    answer, completion = chat(oai(world.gateway, script), headers, messages=prompt("keeps failing " + script))
    assert completion is None
    assert answer.status_code == 503
    assert answer.json()["error"]["message"] == f"last failure {script}"
    received = world.primary.received(script)
    assert len(received) == 3  # 1 + Retry-Num
    # No retry goes out sooner than Helicone-Retry-Min-Timeout after the failure before it.
    assert all(b["time"] - a["time"] >= 0.14 for a, b in zip(received, received[1:]))
    record = record_of(world.gateway, answer)
    assert record["status"] == 503
    assert [a["status"] for a in record["attempts"]] == [502, 500, 503]


def test_unreachable_provider_is_tried_again_and_each_refused_connection_is_recorded(world):
    # The dead origin is on the Target-URL allowlist: a route whose provider cannot be reached.
    headers = {**RETRY, "Helicone-Retry-Num": "2", "Helicone-Target-URL": world.dead}
    answer, completion = chat(oai(world.gateway, base="/v1"), headers, messages=prompt("nobody home " + tag()))
    assert completion is None
    assert answer.status_code == 502
    assert error_of(answer)["type"] == "upstream_unreachable"
    record = record_of(world.gateway, answer)
    assert len(record["attempts"]) == 3
    for attempt in record["attempts"]:
        assert attempt["status"] is None
        assert attempt["url"].startswith(world.dead)
        assert attempt["error"]


def test_provider_that_refuses_connections_until_it_comes_up_is_reached_by_a_retry(world):
    script = tag()
    # The first attempt finds nobody listening; the provider is up before the retry, 1.5 s later.
    headers = {**RETRY, "Helicone-Retry-Num": "2", "Helicone-Retry-Min-Timeout": "1500",
               "Helicone-Retry-Max-Timeout": "1500", "Helicone-Target-URL": world.late}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(chat, oai(world.gateway, script, base="/v1"), headers, messages=prompt("wake up " + script))
        time.sleep(0.5)
        world.late_port.release()
        late = FakeProvider(port=world.late_port.port)
        try:
            answer, completion = pending.result(timeout=30)
        finally:
            late.stop()
    assert answer.status_code == 200 and completion is not None
    assert len(late.received(script)) == 1
    attempts = record_of(world.gateway, answer)["attempts"]
    assert [a["status"] for a in attempts] == [None, 200]
    assert attempts[0]["error"] and attempts[0]["url"].startswith(world.late)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_waited_out_before_trying_again(world, status):
    script = tag()
    world.primary.script(script, [Reply(status, headers={"Retry-After": "1"})])
    headers = {**RETRY, "Helicone-Retry-Max-Timeout": "3000"}
    answer, completion = chat(oai(world.gateway, script), headers, messages=prompt("slow down " + script))
    assert answer.status_code == 200 and completion is not None
    first, second = world.primary.received(script)
    assert second["time"] - first["time"] >= 0.95
    assert [a["status"] for a in record_of(world.gateway, answer)["attempts"]] == [status, 200]


def test_provider_that_hangs_up_before_answering_is_tried_again(world):
    script = tag()
    world.primary.script(script, [Reply(drop=True), Reply(drop=True)])
    answer, completion = chat(oai(world.gateway, script), RETRY, messages=prompt("hang up " + script))
    assert answer.status_code == 200 and completion is not None
    assert len(world.primary.received(script)) == 3
    attempts = record_of(world.gateway, answer)["attempts"]
    assert attempts[-1]["status"] == 200
    # Two hang-ups, each an attempt with no status and a reason; but a hang-up on a reused pooled
    # connection is also sent again once by the connection pool itself (README, "An upstream that
    # fails"), and that resend is not listed: depending on the pool, [None, None, 200] or [None, 200].
    assert 1 <= len(attempts[:-1]) <= 2
    assert all(a["status"] is None and a["error"] for a in attempts[:-1])


def test_retry_after_longer_than_max_timeout_gives_the_client_the_429(world):
    script = tag()
    world.primary.script(script, [Reply(429, headers={"Retry-After": "30"})])
    answer, completion = chat(oai(world.gateway, script), RETRY, messages=prompt("come back later " + script))
    assert completion is None
    assert answer.status_code == 429
    assert len(world.primary.received(script)) == 1
    assert [a["status"] for a in record_of(world.gateway, answer)["attempts"]] == [429]


def test_stream_that_failed_before_its_first_byte_is_retried_and_reaches_the_client_untouched(world):
    script = tag()
    world.primary.script(script, [503])
    stream = oai(world.gateway, script).chat.completions.create(
        model="gpt-4o-mini", messages=prompt("stream again " + script), stream=True, extra_headers=RETRY)
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello world"
    assert all(c.choices and c.usage is None for c in chunks)  # no usage chunk: none was asked
    first, second = world.primary.received(script)
    assert second["body"] == first["body"]
    assert json.loads(second["body"])["stream_options"] == {"include_usage": True}
    record = record_of(world.gateway, stream.response)
    assert [a["status"] for a in record["attempts"]] == [503, 200]
    assert (record["prompt_tokens"], record["completion_tokens"]) == (20, 2)


def test_stream_broken_off_after_its_first_bytes_is_not_retried(world):
    # SPEC §7: nothing is retried once a byte of the answer has reached the client; a retry now
    # would append a second answer to the part already shown.
    script = tag()
    world.primary.script(script, [Reply(200, events=chat_chunks("gpt-4o-mini", True)[:3], cut=True)])
    body = {"model": "gpt-4o-mini", "messages": prompt("half a stream " + script), "stream": True}
    headers = {**RETRY, "Helicone-Auth": f"Bearer {ALPHA}", "Authorization": f"Bearer {PROVIDER_KEY}", "X-Fake-Script": script}
    with HTTP.stream("POST", world.gateway.url + "/openai/v1/chat/completions", json=body, headers=headers) as answer:
        assert answer.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):  # the client sees the cut, never a clean end
            answer.read()
    record = record_of(world.gateway, answer)  # written once the call is over, retries included
    assert [a["status"] for a in record["attempts"]] == [200]
    assert record["error"]
    assert len(world.primary.received(script)) == 1


def test_client_errors_are_not_retried(world):
    script = tag()
    world.primary.script(script, [400])
    answer, _ = chat(oai(world.gateway, script), RETRY, messages=prompt("bad request " + script))
    assert answer.status_code == 400
    assert len(world.primary.received(script)) == 1


def test_calls_without_retries_or_fallbacks_have_no_attempts_in_their_record(world):
    answer, _ = chat(oai(world.gateway), messages=prompt("plain " + tag()))
    record = record_of(world.gateway, answer)
    assert record["attempts"] is None
    assert record["cache_hit"] is False


# ---------------------------------------------------------------------------------------------
# Rate limits


def assert_refused(answer, policy, limit):
    assert answer.status_code == 429, answer.text
    error = error_of(answer)
    assert error["type"] == "rate_limited" and error["message"]
    assert answer.headers["helicone-ratelimit-limit"] == str(limit)
    assert answer.headers["helicone-ratelimit-remaining"] == "0"
    assert answer.headers["helicone-ratelimit-policy"] == policy
    assert 1 <= int(answer.headers["retry-after"]) <= 60


def test_per_user_limit_refuses_a_users_fourth_call_but_not_another_users_first(world):
    script = tag()
    client = oai(world.gateway, script)
    policy = "3;w=60;s=user"
    alice, bob = "alice-" + script, "bob-" + script
    for remaining in (2, 1, 0):
        answer, completion = chat(client, {"Helicone-RateLimit-Policy": policy, "Helicone-User-Id": alice}, messages=prompt("hi"))
        assert answer.status_code == 200 and completion is not None
        assert answer.headers["helicone-ratelimit-limit"] == "3"
        assert answer.headers["helicone-ratelimit-remaining"] == str(remaining)
        assert answer.headers["helicone-ratelimit-policy"] == policy
    refused, _ = chat(client, {"Helicone-RateLimit-Policy": policy, "Helicone-User-Id": alice}, messages=prompt("hi"))
    assert_refused(refused, policy, 3)
    assert len(world.primary.received(script)) == 3  # the refused call was not forwarded
    other, completion = chat(client, {"Helicone-RateLimit-Policy": policy, "Helicone-User-Id": bob}, messages=prompt("hi"))
    assert other.status_code == 200 and completion is not None
    assert other.headers["helicone-ratelimit-remaining"] == "2"
    assert len(world.primary.received(script)) == 4


def test_per_user_limit_counts_the_user_the_sdk_sent_in_the_body(world):
    # SPEC §3: the end user is Helicone-User-Id, falling back to the body's `user` (OpenAI); the
    # record says so. A per-user limit must count that same user, or an SDK call passing `user=`
    # (or one that just leaves the header out) escapes it.
    script = tag()
    client = oai(world.gateway, script)
    policy = {"Helicone-RateLimit-Policy": "1;w=60;s=user"}
    first, _ = chat(client, policy, messages=prompt("hi"), user="body-user-" + script)
    assert first.status_code == 200
    assert record_of(world.gateway, first)["user_id"] == "body-user-" + script
    assert first.headers.get("helicone-ratelimit-policy") == "1;w=60;s=user"
    assert_refused(chat(client, policy, messages=prompt("hi"), user="body-user-" + script)[0], "1;w=60;s=user", 1)
    assert len(world.primary.received(script)) == 1


def test_per_property_limit_counts_each_value_apart(world):
    script = tag()
    client = oai(world.gateway, script)
    policy = "2;w=60;s=tenant"
    one, two = {"Helicone-Property-Tenant": "acme-" + script}, {"Helicone-Property-Tenant": "globex-" + script}
    limited = {"Helicone-RateLimit-Policy": policy}
    assert [chat(client, {**limited, **one}, messages=prompt("hi"))[0].status_code for _ in range(2)] == [200, 200]
    assert_refused(chat(client, {**limited, **one}, messages=prompt("hi"))[0], policy, 2)
    assert chat(client, {**limited, **two}, messages=prompt("hi"))[0].status_code == 200
    assert len(world.primary.received(script)) == 3


def test_concurrent_calls_never_get_past_the_quota(world):
    script = tag()
    client = oai(world.gateway, script)
    headers = {"Helicone-RateLimit-Policy": "3;w=60;s=tenant", "Helicone-Property-Tenant": script}
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: chat(client, headers, messages=prompt("hi"))[0], range(10)))
    assert sorted(a.status_code for a in answers) == [200] * 3 + [429] * 7
    assert len(world.primary.received(script)) == 3


def test_refused_call_is_recorded_as_rate_limited(world):
    script = tag()
    client = oai(world.gateway, script)
    headers = {"Helicone-RateLimit-Policy": "1;w=60;s=tenant", "Helicone-Property-Tenant": script}
    assert chat(client, headers, messages=prompt("hi"))[0].status_code == 200
    refused, _ = chat(client, headers, messages=prompt("hi"))
    assert refused.status_code == 429
    record = record_of(world.gateway, refused)
    assert record["status"] == 429
    assert record["error"].startswith("rate_limited")
    assert record["cost_usd"] in (0, None)
    assert len(world.primary.received(script)) == 1


def test_cents_budget_refuses_calls_once_a_call_has_spent_it(world):
    script = tag()
    # 10,000 prompt × 0.15 + 20,000 completion × 0.60 = 13,500 per million: $0.0135, 1.35 cents.
    usage = {"prompt_tokens": 10000, "completion_tokens": 20000, "total_tokens": 30000}
    world.primary.script(script, [Reply(200, chat_completion("gpt-4o-mini", usage=usage))])
    client = oai(world.gateway, script)
    policy = "1;w=60;u=cents;s=tenant"
    headers = {"Helicone-RateLimit-Policy": policy, "Helicone-Property-Tenant": script}
    spent, completion = chat(client, headers, messages=prompt("expensive"))
    assert spent.status_code == 200 and completion is not None  # admitted: the whole cent was left
    assert spent.headers["helicone-ratelimit-policy"] == policy
    assert record_of(world.gateway, spent)["cost_usd"] == pytest.approx(0.0135, rel=1e-9)
    refused, _ = chat(client, headers, messages=prompt("expensive"))
    assert_refused(refused, policy, 1)
    assert len(world.primary.received(script)) == 1


def test_operator_limit_on_a_gateway_key_applies_without_any_header_and_cannot_be_lifted(world):
    script = tag()
    client = oai(world.gateway, script, key=LIMITED)
    for remaining in (1, 0):
        answer, completion = chat(client, messages=prompt("hi"))
        assert answer.status_code == 200 and completion is not None
        assert answer.headers["helicone-ratelimit-limit"] == "2"
        assert answer.headers["helicone-ratelimit-remaining"] == str(remaining)
        assert answer.headers["helicone-ratelimit-policy"] == "2;w=60"
    assert_refused(chat(client, messages=prompt("hi"))[0], "2;w=60", 2)
    lifted, _ = chat(client, {"Helicone-RateLimit-Policy": "100;w=60"}, messages=prompt("hi"))
    assert lifted.status_code == 429 and error_of(lifted)["type"] == "rate_limited"
    assert len(world.primary.received(script)) == 2


# ---------------------------------------------------------------------------------------------
# Fallbacks


def fallbacks(*entries):
    return {"Helicone-Fallbacks": json.dumps(list(entries))}


def test_fallback_answers_from_the_next_target_with_its_own_headers_and_body_override(world):
    script = tag()
    world.primary.script(script, [], then=503)
    headers = fallbacks(
        {"target-url": world.primary.base_url, "headers": {"x-primary-key": "p-" + script}, "onCodes": [429, {"from": 500, "to": 599}]},
        {"target-url": world.backup.base_url, "headers": {"x-backup-key": "b-" + script}, "bodyKeyOverride": {"model": "gpt-4o", "temperature": 0}},
    )
    answer, completion = chat(oai(world.gateway, script, base="/v1"), headers, messages=prompt("fall back " + script), max_tokens=7)
    assert answer.status_code == 200, answer.text
    assert answer.headers["helicone-fallback-index"] == "1"
    assert completion.model == "gpt-4o"  # the backup answered the overridden body
    [to_primary] = world.primary.received(script)
    [to_backup] = world.backup.received(script)
    assert to_primary["path"] == to_backup["path"] == "/v1/chat/completions"
    assert to_primary["headers"]["x-primary-key"] == "p-" + script and "x-backup-key" not in to_primary["headers"]
    assert to_backup["headers"]["x-backup-key"] == "b-" + script and "x-primary-key" not in to_backup["headers"]
    assert to_backup["headers"]["authorization"] == f"Bearer {PROVIDER_KEY}"
    original, overridden = json.loads(to_primary["body"]), json.loads(to_backup["body"])
    assert original["model"] == "gpt-4o-mini"
    assert overridden == dict(original, model="gpt-4o", temperature=0)
    record = record_of(world.gateway, answer)
    assert record["fallback_index"] == 1
    assert [a["status"] for a in record["attempts"]] == [503, 200]
    assert record["attempts"][0]["url"].startswith(world.primary.base_url)
    assert record["attempts"][1]["url"].startswith(world.backup.base_url)
    assert "scripted failure 503" in record["attempts"][0]["response"]


def test_streamed_call_falls_back_with_the_override_and_is_metered_from_the_backups_answer(world):
    script = tag()
    world.primary.script(script, [], then=Reply(429, headers={"Retry-After": "30"}))
    headers = fallbacks({"target-url": world.primary.base_url, "onCodes": [429]},
                        {"target-url": world.backup.base_url, "bodyKeyOverride": {"model": "gpt-4o"}})
    raw = oai(world.gateway, script, base="/v1").chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=prompt("stream elsewhere " + script), stream=True, extra_headers=headers)
    assert raw.headers["helicone-fallback-index"] == "1"
    chunks = list(raw.parse())
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello world"
    assert {c.model for c in chunks} == {"gpt-4o"}
    assert all(c.choices and c.usage is None for c in chunks)
    [sent] = world.backup.received(script)
    assert json.loads(sent["body"])["model"] == "gpt-4o"
    record = record_of(world.gateway, raw.http_response)
    assert record["fallback_index"] == 1 and record["model"] == "gpt-4o"
    assert [a["status"] for a in record["attempts"]] == [429, 200]
    # The backup's usage, 20 prompt and 2 completion tokens, at gpt-4o's $2.50 and $10 per million.
    assert (record["prompt_tokens"], record["completion_tokens"]) == (20, 2)
    assert record["cost_usd"] == pytest.approx((20 * 2.5 + 2 * 10) / 1e6, rel=1e-9)


def test_fallback_entrys_key_replaces_the_callers_for_that_target_only_and_is_never_kept(world):
    script = tag()
    world.primary.script(script, [], then=500)
    backup_key = f"sk-backup-{script}"
    headers = fallbacks({"target-url": world.primary.base_url},
                        {"target-url": world.backup.base_url, "headers": {"Authorization": f"Bearer {backup_key}"}})
    answer, completion = chat(oai(world.gateway, script, base="/v1"), headers, messages=prompt("keys " + script))
    assert answer.status_code == 200 and completion is not None
    [to_primary] = world.primary.received(script)
    [to_backup] = world.backup.received(script)
    assert to_primary["headers"]["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert to_backup["headers"]["authorization"] == f"Bearer {backup_key}"
    record = record_of(world.gateway, answer)
    assert backup_key not in json.dumps(record)
    assert not [line for line in world.gateway.output if backup_key in line]
    if not SUITE_POSTGRES:
        for name in os.listdir(world.gateway.storage):
            with open(os.path.join(world.gateway.storage, name), "rb") as f:
                assert backup_key.encode() not in f.read(), name


def test_fallback_stops_at_a_status_its_entry_does_not_list(world):
    script = tag()
    world.primary.script(script, [], then=500)
    headers = fallbacks({"target-url": world.primary.base_url, "onCodes": [429]}, {"target-url": world.backup.base_url})
    answer, _ = chat(oai(world.gateway, script, base="/v1"), headers, messages=prompt("no fall " + script))
    assert answer.status_code == 500
    assert answer.headers["helicone-fallback-index"] == "0"
    assert len(world.primary.received(script)) == 1
    assert world.backup.received(script) == []
    assert record_of(world.gateway, answer)["fallback_index"] == 0


def test_fallback_moves_past_a_rate_limited_and_an_unreachable_target(world):
    script = tag()
    world.backup.script(script, [], then=Reply(429, headers={"Retry-After": "5"}))
    headers = fallbacks(
        {"target-url": world.backup.base_url, "onCodes": [429]},
        {"target-url": world.dead},
        {"target-url": world.second_backup.base_url},
    )
    answer, completion = chat(oai(world.gateway, script, base="/v1"), headers, messages=prompt("chain " + script))
    assert answer.status_code == 200 and completion is not None
    assert answer.headers["helicone-fallback-index"] == "2"
    assert len(world.backup.received(script)) == 1
    assert len(world.second_backup.received(script)) == 1
    assert world.primary.received(script) == []  # the route's own provider is replaced by the list
    record = record_of(world.gateway, answer)
    assert record["fallback_index"] == 2
    statuses = [a["status"] for a in record["attempts"]]
    assert statuses == [429, None, 200]
    assert record["attempts"][1]["url"].startswith(world.dead) and record["attempts"][1]["error"]


def test_fallback_to_a_target_on_no_allowlist_is_refused_and_nothing_is_sent(world):
    script = tag()
    headers = fallbacks({"target-url": world.backup.base_url}, {"target-url": world.unlisted.base_url})
    answer, completion = chat(oai(world.gateway, script, base="/v1"), headers, messages=prompt("sneaky " + script))
    assert completion is None
    assert answer.status_code == 400
    assert error_of(answer)["type"] == "target_url_not_allowed"
    assert world.backup.received(script) == [] and world.unlisted.received(script) == []
    assert world.primary.received(script) == []


# ---------------------------------------------------------------------------------------------
# Two instances on one PostgreSQL


@pytest.fixture(scope="module")
def pair(provider):
    if not POSTGRES:
        pytest.skip("needs TOLLGATE_TEST_POSTGRES_URL (scripts/test starts PostgreSQL)")
    schema = "c_" + uuid.uuid4().hex[:12]
    env = {"TOLLGATE_STORAGE_KIND": "postgres", "TOLLGATE_STORAGE_POSTGRES_URL": POSTGRES,
           "TOLLGATE_STORAGE_POSTGRES_SCHEMA": schema}
    a = Gateway(provider.base_url, extra_env=env)
    b = Gateway(provider.base_url, extra_env=env)
    yield a, b
    a.stop()
    b.stop()


def plain(gateway, script, base="/openai/v1"):
    return openai.OpenAI(base_url=gateway.url + base, api_key=PROVIDER_KEY, max_retries=0, timeout=30,
                         default_headers={"X-Fake-Script": script})


def test_answer_cached_through_one_instance_is_a_hit_through_another(pair, provider):
    a, b = pair
    script = tag()
    provider.script(script, [Reply(200, chat_completion("gpt-4o-mini", content=f"cached by a {script}"))])
    miss, _ = chat(plain(a, script), CACHE, messages=prompt("shared " + script))
    hit, completion = chat(plain(b, script), CACHE, messages=prompt("shared " + script))
    assert (miss.headers["helicone-cache"], hit.headers["helicone-cache"]) == ("MISS", "HIT")
    assert completion.choices[0].message.content == f"cached by a {script}"
    assert hit.content == miss.content
    assert len(provider.received(script)) == 1


def test_rate_limit_is_shared_by_instances_on_one_database(pair, provider):
    a, b = pair
    script = tag()
    # A project-wide policy: the pair has a schema of its own, so no other test counts here.
    headers = {"Helicone-RateLimit-Policy": "5;w=60"}
    clients = [plain(a, script), plain(b, script)]
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda i: chat(clients[i % 2], headers, messages=prompt("hi"))[0], range(12)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 5 + [429] * 7
    assert all(error_of(r)["type"] == "rate_limited" for r in answers if r.status_code == 429)
    assert len(provider.received(script)) == 5
