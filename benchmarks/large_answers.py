"""Memory under large answers: rounds of 8 concurrent 20 MB answers through one gateway (the SDK
suite's harness: the real binary on SQLite, the fake provider), printing the process's resident and
anonymous memory after each round. Compare bodies.max_kept_bytes (KEPT, default 4 MiB) with a cap
larger than the answers (KEPT=67108864 keeps them whole, as before the cap).

    TOLLGATE_BIN=.build/release/tollgate .venv/bin/python benchmarks/large_answers.py
    KEPT=67108864 ROUNDS=4 PAUSE=3 ... benchmarks/large_answers.py
"""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "sdk"))
import httpx  # noqa: E402

from conftest import Gateway  # noqa: E402
from fake_provider import FakeProvider  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "4"))
PAUSE = float(os.environ.get("PAUSE", "3"))  # seconds after each round, for the recorder to catch up
KEPT = os.environ.get("KEPT", str(4 << 20))
ANSWER = json.dumps({
    "id": "chatcmpl-big", "object": "chat.completion", "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "x" * (20 << 20)}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}).encode()


def memory(pid):
    status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    rollup = dict(line.split(":", 1) for line in open(f"/proc/{pid}/smaps_rollup") if ":" in line and not line[0].isdigit())
    return f"resident {status['VmRSS'].strip()}, anonymous {rollup['Anonymous'].strip()}"


def main():
    provider = FakeProvider()
    provider.override = lambda body: ANSWER
    gateway = Gateway(provider.base_url, extra_env={"TOLLGATE_BODIES_MAX_KEPT_BYTES": KEPT})

    def call():
        answer = httpx.post(gateway.url + "/v1/chat/completions", json={"model": "gpt-4o-mini"}, timeout=120)
        assert len(answer.content) == len(ANSWER)

    try:
        print(f"bodies.max_kept_bytes={KEPT}; at start: {memory(gateway.process.pid)}")
        for number in range(1, ROUNDS + 1):
            threads = [threading.Thread(target=call) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            time.sleep(PAUSE)
            print(f"after round {number} (8 concurrent 20 MB answers): {memory(gateway.process.pid)}")
    finally:
        gateway.stop()
        provider.stop()


if __name__ == "__main__":
    main()
