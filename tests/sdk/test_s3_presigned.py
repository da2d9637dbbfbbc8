"""request_response_url against an S3 server that checks presigned URLs: LocalStack's S3 (moto
accepts any query signature). The URL serves the {"request", "response"} document before it
expires, and is refused once it has expired or when any part of it is changed.

scripts/test installs LocalStack in its own virtualenv (it needs Python 3.12 or later) and names
its Python in TOLLGATE_TEST_LOCALSTACK_PYTHON."""
import os
import time
import urllib.parse

import boto3
import httpx
import pytest
from botocore.config import Config

from services import Service
from test_s3_bodies import BUCKET, call, free_port, s3_gateway

LOCALSTACK_PYTHON = os.environ.get("TOLLGATE_TEST_LOCALSTACK_PYTHON")
pytestmark = pytest.mark.skipif(not LOCALSTACK_PYTHON, reason="needs TOLLGATE_TEST_LOCALSTACK_PYTHON (scripts/test installs LocalStack)")
LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "localstack_s3.py")


class LocalStackS3:
    key_id, secret = "test", "test"

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = lambda folder: dict(  # noqa: E731
            os.environ, GATEWAY_LISTEN=f"127.0.0.1:{self.port}", SERVICES="s3", EAGER_SERVICE_LOADING="1",
            S3_SKIP_SIGNATURE_VALIDATION="0", DISABLE_EVENTS="1", SKIP_SSL_CERT_DOWNLOAD="1", DNS_ADDRESS="0",
            LOCALSTACK_VOLUME_DIR=os.path.join(folder, "volume"), FILESYSTEM_ROOT=os.path.join(folder, "fs"))
        self.service = Service("LocalStack", [LOCALSTACK_PYTHON, LAUNCHER], env=env, timeout=120, ready=self.s3_available)
        self.client().create_bucket(Bucket=BUCKET)

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id=self.key_id,
                            aws_secret_access_key=self.secret, config=Config(s3={"addressing_style": "path"}))

    def s3_available(self):
        return httpx.get(self.url + "/_localstack/health", timeout=1).json()["services"].get("s3") in ("available", "running")

    def stop(self):
        self.service.stop()


@pytest.fixture(scope="module")
def localstack():
    s3 = LocalStackS3()
    yield s3
    s3.stop()


def changed(url, name, value):
    """`url` with query parameter `name` set to `value`, everything else byte for byte."""
    parts = urllib.parse.urlsplit(url)
    query = "&".join(f"{k}={urllib.parse.quote(value, safe='') if k == name else v}"
                     for k, v in (pair.split("=", 1) for pair in parts.query.split("&")))
    return urllib.parse.urlunsplit(parts._replace(query=query))


def test_presigned_url_serves_the_bodies_until_it_expires_and_not_once_any_part_is_changed(provider, localstack):
    gateway = s3_gateway(provider, localstack, ttl=4)
    try:
        rid, record = call(gateway, "presigned, checked")
        other, _ = call(gateway, "another call's bodies")
        url = record["request_response_url"]
        assert url.startswith(f"{localstack.url}/{BUCKET}/bodies/{rid}.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&")
        fetched = httpx.get(url)
        assert fetched.status_code == 200, fetched.text
        document = fetched.json()
        assert set(document) == {"request", "response"}
        assert document["request"]["messages"][0]["content"] == "presigned, checked"

        params = dict(pair.split("=", 1) for pair in urllib.parse.urlsplit(url).query.split("&"))
        signature = params["X-Amz-Signature"]
        tampered = {
            "signature": changed(url, "X-Amz-Signature", ("0" if signature[0] != "0" else "1") + signature[1:]),
            "expiry": changed(url, "X-Amz-Expires", "604800"),
            "date": changed(url, "X-Amz-Date", "20991231T000000Z"),
            "credential": changed(url, "X-Amz-Credential", urllib.parse.unquote(params["X-Amz-Credential"]).replace("us-east-1", "eu-west-1")),
            "signed headers": changed(url, "X-Amz-SignedHeaders", "host;range"),
            "object": url.replace(f"/bodies/{rid}.json", f"/bodies/{other}.json"),  # an object that exists
            "host": url.replace("127.0.0.1", "localhost", 1),
        }
        for part, bad in tampered.items():
            answer = httpx.get(bad)
            assert answer.status_code == 403, f"a URL with its {part} changed was served: {answer.status_code} {answer.text[:200]}"

        time.sleep(5)  # past bodies.url_ttl_seconds
        expired = httpx.get(url)
        assert expired.status_code == 403 and "expired" in expired.text.lower(), expired.text[:300]
    finally:
        gateway.stop()
