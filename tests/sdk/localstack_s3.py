"""Runs LocalStack's S3 (which checks presigned URLs: signature and expiry) on 127.0.0.1 only.

LocalStack's Twisted server binds its IPv4 listeners to every interface whatever GATEWAY_LISTEN
says (runtime/server/twisted.py leaves the interface out), so this launcher pins them to loopback
before handing over to LocalStack's own entry point. Run with the Python of the LocalStack
virtualenv that scripts/test creates; configuration comes from the environment (see
test_s3_presigned.py)."""
import runpy

from twisted.internet import endpoints

_TCP4 = endpoints.TCP4ServerEndpoint


class LoopbackTCP4ServerEndpoint(_TCP4):
    def __init__(self, reactor, port, backlog=50, interface=""):
        super().__init__(reactor, port, backlog, interface or "127.0.0.1")


endpoints.TCP4ServerEndpoint = LoopbackTCP4ServerEndpoint
runpy.run_module("localstack.runtime.main", run_name="__main__")
