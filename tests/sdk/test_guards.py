"""Guards against a careless or hostile caller, against the real binary: an SDK configured with
the admin key by mistake is refused and nothing reaches the provider, no spelling of a management
path is forwarded, and a webhook cannot be pointed at loopback by encoding its host."""
import http.client
import json

import anthropic
import openai
import pytest

from conftest import ADMIN_KEY
from test_cli import cli

PROMPT = [{"role": "user", "content": "hi"}]


def raw_get(gateway, path):
    """GET `path` exactly as written (httpx and requests would normalise it), with the admin key."""
    host, port = gateway.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {ADMIN_KEY}")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def test_sdks_given_the_admin_key_are_refused_and_the_provider_sees_nothing(gateway, provider):
    before = len(provider.requests)
    with pytest.raises(openai.PermissionDeniedError) as refused:
        openai.OpenAI(base_url=gateway.url + "/v1", api_key=ADMIN_KEY, max_retries=0).chat.completions.create(
            model="gpt-4o-mini", messages=PROMPT)
    assert "admin key" in str(refused.value)
    with pytest.raises(anthropic.PermissionDeniedError):
        anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key=ADMIN_KEY, max_retries=0).messages.create(
            model="claude-sonnet-4-5", max_tokens=10, messages=PROMPT)
    with pytest.raises(openai.PermissionDeniedError):
        openai.OpenAI(base_url=gateway.url + "/v1", api_key="sk-provider", max_retries=0,
                      default_headers={"Helicone-Auth": f"Bearer {ADMIN_KEY}"}).chat.completions.create(
            model="gpt-4o-mini", messages=PROMPT)
    assert len(provider.requests) == before


@pytest.mark.parametrize("path", ["/v1/./webhooks", "/v1//webhooks", "/v1/%77ebhooks", "/v1/webhooks/", "/v1/chat/../requests"])
def test_management_paths_in_any_spelling_are_served_by_the_gateway(gateway, path):
    status, body = raw_get(gateway, path)
    assert status == 200 and isinstance(body["data"], list), body


@pytest.mark.parametrize("path", ["/v1/Webhooks", "/v1/Requests", "/v1/Stats", "/v1/bodies"])
def test_management_lookalikes_get_a_json_404_from_the_gateway(gateway, path):
    status, body = raw_get(gateway, path)
    assert status == 404 and body["error"]["type"] == "not_found", body


@pytest.mark.parametrize("destination, why", [
    ("https://%31%32%37.0.0.1:9/hook", "percent-encoded"),
    ("https://127%2e0%2e0%2e1:9/hook", "percent-encoded"),
    ("https://%6c%6f%63%61%6c%68%6f%73%74:9/hook", "percent-encoded"),
    ("https://127.1:9/hook", "numeric form"),
    ("https://0x7f000001:9/hook", "numeric form"),
])
def test_webhook_add_refuses_an_encoded_or_numeric_host(gateway, destination, why):
    added = cli(gateway, "add", destination)
    assert added.returncode != 0 and why in added.stderr, added.stdout + added.stderr
    assert destination not in cli(gateway, "list").stdout
