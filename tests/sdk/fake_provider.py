"""A stand-in for OpenAI and Anthropic: a real HTTP server on 127.0.0.1, port 0.

It answers chat completions and messages in JSON or SSE with real-shaped usage, and keeps
every request it received (path, headers, raw body, arrival time) so tests can check what the
gateway forwarded. A test can set `override` to answer chat completions its own way (see there),
or `script` answers for the requests that carry one `X-Fake-Script` header value: fail with a
status, ask to wait with `Retry-After`, fail N times then succeed (see `script`).
"""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPENAI_USAGE = {
    "prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200,
    "prompt_tokens_details": {"cached_tokens": 400, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 64, "audio_tokens": 0},
}
ANTHROPIC_USAGE = {
    "input_tokens": 100, "cache_creation_input_tokens": 500, "cache_read_input_tokens": 1000,
    "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 200},
    "output_tokens": 50, "service_tier": "standard",
}


class ClosedPort:
    """A port on 127.0.0.1 that refuses every connection while this object holds it: a socket
    bound there that never listens. A port read from a socket that was then closed can be handed
    to the next server any test starts; this one cannot, until `release()`."""

    def __init__(self):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def release(self):
        """Frees the port, for a test that starts a server on it next."""
        self._socket.close()


def chat_completion(model, content="Hello from the fake provider / “quoted”", usage=OPENAI_USAGE):
    return {
        "id": "chatcmpl-fake1", "object": "chat.completion", "created": 1764547200, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": usage, "service_tier": "default", "system_fingerprint": "fp_fake",
    }


def chat_chunks(model, include_usage):
    base = {"id": "chatcmpl-fake2", "object": "chat.completion.chunk", "created": 1764547200, "model": model,
            "system_fingerprint": "fp_fake"}
    parts = [{"role": "assistant", "content": ""}, {"content": "Hello"}, {"content": " world"}]
    chunks = []
    for delta in parts:
        c = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}])
        if include_usage:
            c["usage"] = None
        chunks.append(c)
    last = dict(base, choices=[{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}])
    if include_usage:
        last["usage"] = None
    chunks.append(last)
    if include_usage:
        chunks.append(dict(base, choices=[], usage={
            "prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22,
            "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}))
    return ["data: " + json.dumps(c, separators=(",", ":")) + "\n\n" for c in chunks] + ["data: [DONE]\n\n"]


def anthropic_message(model):
    return {
        "id": "msg_fake1", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": "Bonjour 👋"}],
        "stop_reason": "end_turn", "stop_sequence": None, "usage": ANTHROPIC_USAGE,
    }


def anthropic_events(model):
    def ev(name, data):
        return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
    start_usage = dict(ANTHROPIC_USAGE, output_tokens=1)
    return [
        ev("message_start", {"type": "message_start", "message": {
            "id": "msg_fake2", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": start_usage}}),
        ev("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ev("ping", {"type": "ping"}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Bon"}}),
        ev("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "jour"}}),
        ev("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ev("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                             "usage": {"output_tokens": 50}}),
        ev("message_stop", {"type": "message_stop"}),
    ]


class Reply:
    """One scripted answer: a status, a body (bytes as they are, anything else as JSON; None: a
    JSON error body for a failure, the usual answer for a 2xx), extra headers, or SSE `events`
    (strings, each sent as one chunk, `pause` seconds apart). With `cut`, the connection is
    closed after the events, without the stream's last chunk: an answer broken off midway. With
    `drop`, the connection is closed before any answer."""

    def __init__(self, status=200, body=None, headers=None, events=None, pause=0.005, cut=False, drop=False):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.events = events
        self.pause = pause
        self.cut = cut
        self.drop = drop


SCRIPT_HEADER = "x-fake-script"


class LoopbackHandler(BaseHTTPRequestHandler):
    """What every fake server here shares: keep-alive HTTP/1.1, no Nagle delay (headers and body
    are separate writes: no 40 ms delayed-ACK stall), no request log."""
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass


class FakeProvider:
    def __init__(self, port=0):
        self.requests = []
        self.lock = threading.Lock()
        # Called as override(request_json) for each non-stream chat completion; when it returns
        # bytes they are the 200 response body, sent byte for byte; None gives the usual answer.
        self.override = None
        # Scripted answers per X-Fake-Script value (see `script`): a list consumed in order, then
        # what comes after it.
        self.scripts = {}
        provider = self

        class Handler(LoopbackHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                tag = headers.get(SCRIPT_HEADER)
                with provider.lock:
                    provider.requests.append({"path": self.path, "headers": headers, "body": raw,
                                              "time": time.monotonic(), "script": tag})
                    reply = provider._next_reply(tag)
                if reply is not None and self.send_reply(reply):
                    return
                try:
                    body = json.loads(raw, strict=False)  # strict=False: raw control characters in strings
                except ValueError:
                    return self.send_json(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
                model = body.get("model", "gpt-4o-mini")
                if self.path.startswith("/v1/chat/completions"):
                    if body.get("stream"):
                        include = bool((body.get("stream_options") or {}).get("include_usage"))
                        return self.send_sse(chat_chunks(model, include))
                    answer = provider.override(body) if provider.override else None
                    if answer is not None:
                        return self.send_bytes(200, answer)
                    return self.send_json(200, chat_completion(model))
                if self.path.startswith("/v1/messages"):
                    if body.get("stream"):
                        return self.send_sse(anthropic_events(model))
                    return self.send_json(200, anthropic_message(model))
                self.send_json(404, {"error": {"message": f"no route {self.path}"}})

            def send_reply(self, reply):
                """Sends a scripted answer; False when it is a 2xx with no body of its own, which
                gets the usual answer."""
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return True
                if reply.events is not None:
                    self.send_sse(reply.events, reply.status, reply.headers, reply.pause, reply.cut)
                    return True
                body = reply.body
                if body is None:
                    if 200 <= reply.status < 300:
                        return False
                    body = {"error": {"message": f"scripted failure {reply.status}", "type": "server_error", "code": None}}
                data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
                self.send_bytes(reply.status, data, reply.headers)
                return True

            def send_json(self, status, obj):
                self.send_bytes(status, json.dumps(obj, ensure_ascii=False).encode())

            def send_bytes(self, status, data, headers=None):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.send_header("x-request-id", "req_fake")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def send_sse(self, events, status=200, headers=None, pause=0.005, cut=False):
                self.send_response(status)
                self.send_header("content-type", "text/event-stream; charset=utf-8")
                self.send_header("transfer-encoding", "chunked")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                for e in events:
                    data = e.encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                    time.sleep(pause)
                if cut:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def script(self, tag, replies, then=None):
        """Answers the requests carrying `X-Fake-Script: tag` with `replies` in order, then with
        `then` for every later one (None: the usual answer). Each reply is a `Reply`, a status
        (a failure gets a JSON error body, a 2xx the usual answer) or None (the usual answer)."""
        def reply(r):
            return Reply(r) if isinstance(r, int) else r
        with self.lock:
            self.scripts[tag] = ([reply(r) for r in replies], reply(then))

    def _next_reply(self, tag):
        if tag is None or tag not in self.scripts:
            return None
        queue, then = self.scripts[tag]
        return queue.pop(0) if queue else then

    def received(self, tag):
        """The requests that carried `X-Fake-Script: tag`, in the order they arrived."""
        with self.lock:
            return [r for r in self.requests if r["script"] == tag]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
