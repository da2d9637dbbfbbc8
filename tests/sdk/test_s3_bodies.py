"""Bodies in S3-compatible storage (moto's S3 server on 127.0.0.1): objects written with our SigV4
signing, checked by moto with its authentication on; request_response_url a presigned S3 URL that
is exactly what botocore (the AWS SDK) presigns; bad S3 settings stop the start with a reason."""
import datetime
import json
import os
import re
import socket
import time
import uuid
from unittest import mock

import boto3
import botocore.auth
import botocore.credentials
import httpx
import pytest
from botocore.awsrequest import AWSRequest

from conftest import Gateway
from fake_provider import ClosedPort
from services import Service
from shared_http import HTTP

MOTO = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".venv", "bin", "moto_server")
BUCKET = "tollgate-bodies"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto's S3 server; with `auth`, every request after the IAM set-up must be signed by a known key."""

    def __init__(self, auth):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4" if auth else "inf")
        self.service = Service("moto", [MOTO, "-H", "127.0.0.1", "-p", str(self.port)], env=env,
                               ready=lambda: httpx.get(self.url + "/moto-api/", timeout=1).status_code < 500)
        self.key_id, self.secret = "testing", "testing"
        if auth:
            # The four unauthenticated calls: a user, its key, its policy, the bucket.
            iam = {"Authorization": "AWS4-HMAC-SHA256 Credential=setup/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"}
            httpx.post(self.url, data={"Action": "CreateUser", "UserName": "tg", "Version": "2010-05-08"}, headers=iam)
            created = httpx.post(self.url, data={"Action": "CreateAccessKey", "UserName": "tg", "Version": "2010-05-08"}, headers=iam).text
            self.key_id = re.search(r"<AccessKeyId>([^<]+)", created).group(1)
            self.secret = re.search(r"<SecretAccessKey>([^<]+)", created).group(1)
            policy = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
            httpx.post(self.url, data={"Action": "PutUserPolicy", "UserName": "tg", "PolicyName": "s3", "PolicyDocument": policy,
                                       "Version": "2010-05-08"}, headers=iam)
        assert httpx.put(f"{self.url}/{BUCKET}").status_code == 200

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=self.key_id, aws_secret_access_key=self.secret)

    def stop(self):
        self.service.stop()


def s3_gateway(provider, moto, bucket=BUCKET, secret=None, ttl=1800):
    return Gateway(provider.base_url, extra_env={
        "TOLLGATE_BODIES_KIND": "s3", "TOLLGATE_BODIES_S3_ENDPOINT": moto.url, "TOLLGATE_BODIES_S3_BUCKET": bucket,
        "AWS_ACCESS_KEY_ID": moto.key_id, "AWS_SECRET_ACCESS_KEY": secret or moto.secret, "AWS_REGION": "us-east-1",
        "TOLLGATE_BODIES_URL_TTL_SECONDS": str(ttl),
    })


def call(gateway, content):
    rid = str(uuid.uuid4())
    r = HTTP.post(gateway.url + "/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]},
                  headers={"Helicone-Request-Id": rid})
    assert r.status_code == 200, r.text
    return rid, gateway.record(rid)


def test_bodies_are_signed_into_s3_and_the_object_holds_request_and_response(provider):
    moto = Moto(auth=True)
    gateway = s3_gateway(provider, moto)
    try:
        rid, record = call(gateway, "héllo / S3")
        obj = moto.client().get_object(Bucket=BUCKET, Key=f"bodies/{rid}.json")  # moto checks our PUT's signature on the way in
        document = json.loads(obj["Body"].read())
        assert document["request"]["messages"][0]["content"] == "héllo / S3"
        assert document["response"]["choices"][0]["message"]["content"] == "Hello from the fake provider / “quoted”"
        url = record["request_response_url"]
        assert url.startswith(f"{moto.url}/{BUCKET}/bodies/{rid}.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&")
    finally:
        gateway.stop()
        moto.stop()


def test_request_response_url_is_the_presigned_url_botocore_makes_and_serves_the_bodies(provider):
    moto = Moto(auth=False)  # moto cannot check presigned URLs: the signature is compared with botocore's (LocalStack checks them: test_s3_presigned.py)
    gateway = s3_gateway(provider, moto, ttl=600)
    try:
        rid, record = call(gateway, "presign me")
        url = record["request_response_url"]
        answer = httpx.get(url)
        fetched = answer.json()
        assert "request" in fetched, f"{answer.status_code} from {url}: {answer.text[:500]}"
        assert fetched["request"]["messages"][0]["content"] == "presign me"

        stamp = re.search(r"X-Amz-Date=(\d{8}T\d{6}Z)", url).group(1)
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
        request = AWSRequest(method="GET", url=f"{moto.url}/{BUCKET}/bodies/{rid}.json")
        signer = botocore.auth.S3SigV4QueryAuth(botocore.credentials.Credentials(moto.key_id, moto.secret), "s3", "us-east-1", expires=600)
        # botocore reads its clock through get_current_datetime; older releases call datetime directly
        if hasattr(botocore.auth, "get_current_datetime"):
            clock = mock.patch("botocore.auth.get_current_datetime", return_value=when)
        else:
            clock = mock.patch("botocore.auth.datetime", **{"datetime.utcnow.return_value": when})
        with clock:
            signer.add_auth(request)
        theirs = dict(httpx.URL(request.url).params)
        ours = dict(httpx.URL(url).params)
        assert ours["X-Amz-Expires"] == "600"
        assert ours == theirs  # same credential scope, date, expiry, signed headers and signature
    finally:
        gateway.stop()
        moto.stop()


def test_bad_s3_settings_stop_the_start_with_what_to_fix(provider):
    moto = Moto(auth=True)
    try:
        with pytest.raises(RuntimeError) as missing:
            s3_gateway(provider, moto, bucket="no-such-bucket")
        assert "does not exist" in str(missing.value) and "bodies.s3.bucket" in str(missing.value)
        with pytest.raises(RuntimeError) as refused:
            s3_gateway(provider, moto, secret="wrong-secret")
        assert "refused the credentials" in str(refused.value)
        closed_port = ClosedPort()  # held for the test: no server started meanwhile can take it
        closed = closed_port.port
        with pytest.raises(RuntimeError) as unreachable:
            Gateway(provider.base_url, extra_env={
                "TOLLGATE_BODIES_KIND": "s3", "TOLLGATE_BODIES_S3_ENDPOINT": f"http://127.0.0.1:{closed}",
                "TOLLGATE_BODIES_S3_BUCKET": BUCKET, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
        assert "cannot reach" in str(unreachable.value) and "bodies.s3.endpoint" in str(unreachable.value)
    finally:
        moto.stop()
