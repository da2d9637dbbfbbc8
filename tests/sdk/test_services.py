"""The tests' helper services: one that cannot start fails the test with its own last lines."""
import sys

import pytest

from services import Service, ServiceFailed


def test_a_helper_service_that_exits_at_start_fails_with_its_own_output():
    script = "import sys; print('first line'); print('bind: address already in use', file=sys.stderr); sys.exit(3)"
    with pytest.raises(ServiceFailed) as failed:
        Service("example", [sys.executable, "-c", script], ready=lambda: False, timeout=10)
    message = str(failed.value)
    assert "example exited with status 3" in message
    assert "first line" in message and "bind: address already in use" in message


def test_a_helper_service_that_never_gets_ready_is_stopped_and_shows_its_output():
    script = "import time; print('still loading plugins', flush=True); time.sleep(60)"
    with pytest.raises(ServiceFailed) as failed:
        Service("slow", [sys.executable, "-c", script], ready=lambda: False, timeout=1)
    assert "slow was not ready after 1 s" in str(failed.value)
    assert "still loading plugins" in str(failed.value)
