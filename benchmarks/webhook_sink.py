#!/usr/bin/env python3
"""Webhook sink for the benchmarks: a bare asyncio HTTP/1.1 server (keep-alive, no framework).

POST /hook            a delivery: checks Helicone-Signature (lowercase hex HMAC-SHA256 of the body
                      bytes with the key string), counts it, and records the delay from the call's
                      end (created_at + metadata.latencyMs in the payload) to its arrival here.
POST /control/key     body = a webhook key to accept (several may be set)
POST /control/reset   forget every delivery counted so far
GET  /control/stats   JSON: deliveries, valid, bad_signature, unique request ids, duplicates,
                      first/last arrival, delay p50/p99/max in ms

Usage: webhook_sink.py [--port 0]; prints "listening on PORT". Stops on SIGTERM/SIGINT.
"""
import asyncio
import hashlib
import hmac
import json
import signal
import sys
import time
from datetime import datetime

KEYS: list[bytes] = []


class State:
    def __init__(self):
        self.reset()

    def reset(self):
        self.deliveries = 0
        self.valid = 0
        self.bad_signature = 0
        self.unparsed = 0
        self.ids: set[str] = set()
        self.duplicates = 0
        self.delays: list[float] = []
        self.first = None
        self.last = None

    def stats(self):
        d = sorted(self.delays)

        def pct(p):
            return round(d[min(len(d) - 1, int(p * len(d)))], 2) if d else None

        span = (self.last - self.first) if self.first is not None and self.last is not None else 0.0
        return {
            "deliveries": self.deliveries, "valid": self.valid, "bad_signature": self.bad_signature,
            "unparsed": self.unparsed, "unique": len(self.ids), "duplicates": self.duplicates,
            "first_arrival": self.first, "last_arrival": self.last, "span_s": span,
            "delay_p50_ms": pct(0.50), "delay_p99_ms": pct(0.99), "delay_max_ms": round(d[-1], 2) if d else None,
        }


STATE = State()
_TS_CACHE: dict[str, float] = {}


def parse_ts(text: str) -> float:
    # "2026-11-20T09:49:34.123Z" (JavaScript toISOString); cached per second prefix
    prefix, _, frac = text.rstrip("Z").partition(".")
    base = _TS_CACHE.get(prefix)
    if base is None:
        base = datetime.fromisoformat(prefix + "+00:00").timestamp()
        if len(_TS_CACHE) > 4096:
            _TS_CACHE.clear()
        _TS_CACHE[prefix] = base
    return base + (float("0." + frac) if frac else 0.0)


def on_delivery(headers: dict, body: bytes, arrival: float):
    STATE.deliveries += 1
    if STATE.first is None:
        STATE.first = arrival
    STATE.last = arrival
    sig = headers.get("helicone-signature", "")
    if not any(hmac.compare_digest(hmac.new(k, body, hashlib.sha256).hexdigest(), sig) for k in KEYS):
        STATE.bad_signature += 1
        return
    STATE.valid += 1
    try:
        payload = json.loads(body)
        rid = payload["request_id"]
        end = parse_ts(payload["created_at"]) + payload["metadata"]["latencyMs"] / 1000.0
    except Exception:
        STATE.unparsed += 1
        return
    if rid in STATE.ids:
        STATE.duplicates += 1
        return
    STATE.ids.add(rid)
    STATE.delays.append((arrival - end) * 1000.0)


class HTTP(asyncio.Protocol):
    def connection_made(self, transport):
        self.t = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body, used = self._chunked(end + 4)
                if body is None:
                    return
            else:
                n = int(headers.get("content-length", "0"))
                if len(self.buf) < end + 4 + n:
                    return
                body, used = self.buf[end + 4:end + 4 + n], end + 4 + n
            self.buf = self.buf[used:]
            self.handle(method, path, headers, body)

    def _chunked(self, pos):
        out = []
        while True:
            eol = self.buf.find(b"\r\n", pos)
            if eol < 0:
                return None, 0
            size = int(self.buf[pos:eol].split(b";")[0], 16)
            if size == 0:
                fin = self.buf.find(b"\r\n", eol + 2)
                if fin < 0:
                    return None, 0
                return b"".join(out), fin + 2
            if len(self.buf) < eol + 2 + size + 2:
                return None, 0
            out.append(self.buf[eol + 2:eol + 2 + size])
            pos = eol + 2 + size + 2

    def reply(self, status, body=b"ok", ctype="text/plain"):
        self.t.write(b"HTTP/1.1 %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (status, ctype.encode(), len(body), body))

    def handle(self, method, path, headers, body):
        if method == "POST" and path == "/hook":
            on_delivery(headers, body, time.time())
            self.reply(b"200 OK")
        elif path == "/control/key":
            KEYS.append(body.strip())
            self.reply(b"200 OK")
        elif path == "/control/reset":
            STATE.reset()
            self.reply(b"200 OK")
        elif path == "/control/stats":
            self.reply(b"200 OK", json.dumps(STATE.stats()).encode(), "application/json")
        else:
            self.reply(b"404 Not Found", b"no such path")


async def main():
    port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 0
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HTTP, "127.0.0.1", port, backlog=1024)
    print("listening on", server.sockets[0].getsockname()[1], flush=True)
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(None))
    await stop
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
