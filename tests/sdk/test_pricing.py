"""Prices as an operator meets them: a binary copied alone prices calls, unknown models are null and
listed, overrides apply, and the pricing API and CLI say which entry prices a model."""
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import httpx
import pytest

from conftest import ADMIN_KEY, BINARY, Gateway

# gpt-4o-mini's list price: $0.15 input, $0.075 cached input, $0.60 output per million tokens.
# The fake provider answers 1000 prompt tokens (400 cached) and 200 completion tokens:
# 600 × 0.15 + 400 × 0.075 + 200 × 0.60 = 90 + 30 + 120 = 240 per million.
GPT_4O_MINI_COST = 0.00024


class CopiedBinary(Gateway):
    """The tollgate binary copied alone into an empty folder and started there with no config
    file: no conf/, nothing beside it but the data directory it makes."""

    def __init__(self, provider_url):
        self.folder = tempfile.mkdtemp(prefix="tollgate-alone-")
        self.binary = os.path.join(self.folder, "tollgate")
        shutil.copy2(BINARY, self.binary)
        self.env = {name: value for name, value in os.environ.items()
                    if not name.startswith("TOLLGATE_STORAGE") and name != "TOLLGATE_PRICING_PATH"}
        self.env.update(TOLLGATE_SERVER_PORT="0", TOLLGATE_ADMIN_KEY=ADMIN_KEY, TOLLGATE_PROVIDERS_OPENAI_BASE_URL=provider_url)
        super().__init__(provider_url, storage=os.path.join(self.folder, "tollgate-data"))

    def start(self):
        self.launch([self.binary, "serve"], self.env, cwd=self.folder)

    def call(self, model):
        rid = str(uuid.uuid4())
        r = httpx.post(self.url + "/v1/chat/completions", json={"model": model, "messages": []},
                       headers={"Helicone-Request-Id": rid})
        assert r.status_code == 200
        return self.record(rid)


@pytest.fixture(scope="module")
def alone(provider):
    g = CopiedBinary(provider.base_url)
    yield g
    g.stop()
    shutil.rmtree(g.folder, ignore_errors=True)


def test_a_binary_copied_alone_prices_calls_without_conf(alone):
    assert sorted(os.listdir(alone.folder)) == ["tollgate", "tollgate-data"]
    record = alone.call("gpt-4o-mini-2024-07-18")
    assert record["cost_usd"] == pytest.approx(GPT_4O_MINI_COST, rel=1e-9)


def test_an_unknown_model_is_null_counted_and_listed(alone):
    sibling = f"gpt-5.5-mini-{uuid.uuid4().hex[:6]}"  # a sibling of priced names, itself unpriced
    for _ in range(2):
        assert alone.call(sibling)["cost_usd"] is None
    listed = alone.admin("/v1/pricing/unpriced").json()
    assert listed["error"] is None
    row = next(r for r in listed["data"] if r["model"] == sibling)
    assert row["count"] == 2 and row["provider"] == "openai" and row["last_seen"].endswith("Z")
    metrics = httpx.get(alone.url + "/metrics").text
    assert f'tollgate_unpriced_requests_total{{model="{sibling}"}} 2' in metrics


def test_the_pricing_api_says_which_entry_prices_a_model(alone):
    answer = alone.admin("/v1/pricing/gpt-5.5-2026-09-01").json()
    assert answer["error"] is None
    data = answer["data"]
    assert (data["entry"], data["match"], data["litellm_provider"]) == ("gpt-5.5", "dated_snapshot", "openai")
    assert data["origin"].startswith("embedded snapshot (litellm ")
    assert data["usd_per_million_tokens"]["input"] == 5 and data["usd_per_million_tokens"]["output"] == 30
    assert data["long_context"][0]["above_input_tokens"] == 272000
    bedrock = alone.admin("/v1/pricing/us.anthropic.claude-opus-4-7-20260416-v1:0").json()["data"]
    assert (bedrock["entry"], bedrock["match"]) == ("claude-opus-4-7-20260416", "provider_qualified")
    slashed = alone.admin("/v1/pricing/openai/gpt-oss-120b", provider="groq").json()["data"]
    assert slashed["entry"] == "groq/openai/gpt-oss-120b"
    missing = alone.admin("/v1/pricing/gpt-5.5-mini")
    assert missing.status_code == 404 and missing.json()["data"] is None and "gpt-5.5-mini" in missing.json()["error"]
    assert httpx.get(alone.url + "/v1/pricing/gpt-5.5").status_code == 401


def test_the_pricing_command_answers_before_traffic_flows(alone):
    shown = subprocess.run([alone.binary, "pricing", "claude-opus-4-7@20260416"], cwd=alone.folder, env=alone.env,
                           capture_output=True, text=True, timeout=30)
    assert shown.returncode == 0, shown.stderr
    assert "entry claude-opus-4-7 [dated_snapshot]" in shown.stdout
    assert "input 5, output 25, cache_read 0.5, cache_write 6.25, cache_write_long 10" in shown.stdout
    unknown = subprocess.run([alone.binary, "pricing", "claude-opus-4-9"], cwd=alone.folder, env=alone.env,
                             capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 1 and "no price" in unknown.stdout


def test_overrides_in_the_config_price_a_private_model(provider):
    g = Gateway(provider.base_url, extra_yaml="""
pricing:
  overrides:
    - {model: my-private-finetune, input: 1.5, output: 6}
    - {model: gpt-4o-mini, output: 1.2}
""")
    try:
        rid = str(uuid.uuid4())
        assert httpx.post(g.url + "/v1/chat/completions", json={"model": "my-private-finetune", "messages": []},
                          headers={"Helicone-Request-Id": rid}).status_code == 200
        # No cache price given: cached tokens cost input. 1000 × 1.5 + 200 × 6 = 2,700 per million.
        assert g.record(rid)["cost_usd"] == pytest.approx(0.0027, rel=1e-9)
        rid = str(uuid.uuid4())
        assert httpx.post(g.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []},
                          headers={"Helicone-Request-Id": rid}).status_code == 200
        # Output corrected to $1.20, the rest from the map: 90 + 30 + 200 × 1.2 = 360 per million.
        assert g.record(rid)["cost_usd"] == pytest.approx(0.00036, rel=1e-9)
        origin = g.admin("/v1/pricing/gpt-4o-mini").json()["data"]["origin"]
        assert origin.startswith("pricing.overrides over embedded snapshot")
    finally:
        g.stop()
