"""Helper services of the tests (moto, LocalStack, …) as child processes on 127.0.0.1. Their output
goes to a log file, and when one does not come up the test fails with that service's own last
lines, not with whatever the probe saw."""
import os
import shutil
import subprocess
import tempfile
import time


class ServiceFailed(RuntimeError):
    pass


class Service:
    """Starts `command` in a folder of its own and waits until `ready()` returns true (exceptions
    count as not yet). `env` is a dict, or a function of that folder giving one."""

    def __init__(self, name, command, ready, env=None, timeout=30, cwd=None):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"tollgate-{name.lower()}-")
        self.log_path = os.path.join(self.dir, "log")
        self._log = open(self.log_path, "wb")
        if callable(env):
            env = env(self.dir)
        self.process = subprocess.Popen(command, env=env, cwd=cwd or self.dir, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while True:
            try:
                if ready():
                    return
            except Exception:  # the probe's own failures only mean "not up yet"
                pass
            if self.process.poll() is not None:
                self._fail(f"exited with status {self.process.returncode}")
            if time.time() > deadline:
                self._fail(f"was not ready after {timeout} s")
            time.sleep(0.1)

    def tail(self, lines=40):
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode("utf-8", "replace")

    def _fail(self, what):
        output = self.tail()  # read before stop() removes the folder
        self.stop()
        raise ServiceFailed(f"{self.name} {what}; its last lines:\n{output}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
