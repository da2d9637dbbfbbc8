"""`tollgate webhooks add|list|test|rm` against a running gateway, as an operator types them."""
import json
import os
import subprocess

from conftest import ADMIN_KEY, BINARY, Gateway


def cli(gateway, *args):
    result = subprocess.run([BINARY, "webhooks", *args, "--gateway", gateway.url, "--admin-key", ADMIN_KEY],
                            capture_output=True, text=True, timeout=60)
    return result


def test_webhook_cli_add_list_test_rm(provider, hook_receiver):
    url, received = hook_receiver.url, hook_receiver.received
    gateway = Gateway(provider.base_url, extra_env={"TOLLGATE_WEBHOOKS_ALLOWED_PRIVATE_HOSTS": "127.0.0.1"})
    try:
        added = cli(gateway, "add", url + "/hook", "--filter", "environment=production", "--sample-rate", "50")
        assert added.returncode == 0, added.stderr
        webhook = json.loads(added.stdout)
        assert webhook["destination"] == url + "/hook"
        assert webhook["config"] == {"sampleRate": 50, "propertyFilters": [{"key": "environment", "value": "production"}]}
        assert webhook["hmac_key"] and webhook["webhook_secret"].startswith("whsec_")

        listed = cli(gateway, "list")
        assert listed.returncode == 0, listed.stderr
        assert webhook["id"] in listed.stdout and "environment=production" in listed.stdout

        tested = cli(gateway, "test", webhook["id"])
        assert tested.returncode == 0, tested.stdout + tested.stderr
        assert json.loads(tested.stdout)["status"] == "succeeded"
        assert len(received()) == 1 and received()[0].headers["webhook-id"].startswith("msg_")

        refused = cli(gateway, "add", "http://93.184.216.34/hook")
        assert refused.returncode != 0 and "https" in refused.stderr and "Usage" not in refused.stderr

        removed = cli(gateway, "rm", webhook["id"])
        assert removed.returncode == 0, removed.stderr
        assert webhook["id"] not in cli(gateway, "list").stdout
    finally:
        gateway.stop()


def test_a_second_serve_on_a_port_in_use_exits_at_once_with_the_reason(provider, tmp_path):
    first = Gateway(provider.base_url)
    try:
        port = first.url.rsplit(":", 1)[1]
        env = dict(os.environ, TOLLGATE_SERVER_PORT=port, TOLLGATE_STORAGE_PATH=str(tmp_path),
                   TOLLGATE_STORAGE_KIND="sqlite", TOLLGATE_ADMIN_KEY="second-admin-key")
        second = subprocess.run([BINARY, "serve"], capture_output=True, text=True, timeout=30, env=env)
        assert second.returncode == 1
        assert f"tollgate: cannot listen on 127.0.0.1:{port}: the port is in use" in second.stderr
        assert first.admin("/healthz").status_code == 200  # the first one is untouched
    finally:
        first.stop()
