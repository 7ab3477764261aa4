"""Real processes for the tests: redis-server and `tokenledger serve`, on free loopback ports.

scripts/test-python starts the shared service; the fault tests start their own through
:class:`PrivateService` (a service whose Redis they stop and restart), with the binary of
``TOKENLEDGER_BIN``. Nothing here is a mock: every request goes to a real service over TCP.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from typing import Callable, Dict, List, Optional, TypeVar

T = TypeVar("T")


def require_env(name: str) -> str:
    """The environment variable ``name``; a missing one fails loudly (run scripts/test-python)."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("%s is not set: run the tests through scripts/test-python" % name)
    return value


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], Optional[T]], what: str, deadline: float = 60.0) -> T:
    """Polls ``condition`` until it returns a truthy value; fails naming ``what`` after ``deadline`` s.

    The deadline is generous: the tests wait on observable state, never on time, and run on a
    loaded two-core machine.
    """
    end = time.monotonic() + deadline
    last_error: Optional[BaseException] = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - kept for the failure message
            last_error = error
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for %s (last error: %r)" % (what, last_error))
        time.sleep(0.05)


class PrivateService:
    """A redis-server and a `tokenledger serve` of one test's own.

    Redis keeps an append-only file, so :meth:`stop_redis` and :meth:`start_redis` keep the
    ledger and the API keys across the outage.

    Args:
        spool: Give the service a spool directory (``TOKENLEDGER_SPOOL_DIR``).
    """

    def __init__(self, spool: bool) -> None:
        self.binary = require_env("TOKENLEDGER_BIN")
        self.directory = tempfile.mkdtemp(prefix="tokenledger-pytest-")
        self.redis_port = free_port()
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.redis: Optional[subprocess.Popen[bytes]] = None
        self.service: Optional[subprocess.Popen[bytes]] = None
        self.environment = dict(
            os.environ,
            REDIS_URL="redis://127.0.0.1:%d" % self.redis_port,
            TOKENLEDGER_NAMESPACE="outage",
        )
        if spool:
            self.environment["TOKENLEDGER_SPOOL_DIR"] = os.path.join(self.directory, "spool")
        self.keys: Dict[str, str] = {}

    def start(self) -> "PrivateService":
        """Starts Redis, migrates, makes an admin key and starts the service; waits for readiness."""
        self.start_redis()
        self._tokenledger(["migrate", "--format", "json"])
        created = json.loads(self._tokenledger(["key", "create", "outage-admin", "--role", "admin", "--format", "json"]))
        self.keys["admin"] = created["secret"]
        log = open(os.path.join(self.directory, "serve.log"), "wb")
        self.service = subprocess.Popen(
            [self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until(lambda: self.status("/readyz") == 200, "the private service to be ready")
        return self

    def start_redis(self) -> None:
        """Starts (or restarts) the service's redis-server on its port; waits until it answers."""
        self.redis = subprocess.Popen(
            [
                "redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "",
                "--appendonly", "yes", "--appendfsync", "always", "--dir", self.directory,
                "--logfile", os.path.join(self.directory, "redis.log"),
            ],
        )
        wait_until(self._redis_answers, "redis-server on port %d" % self.redis_port)

    def stop_redis(self) -> None:
        """Stops redis-server (its append-only file keeps the data) and waits until its port is closed."""
        assert self.redis is not None
        self.redis.send_signal(signal.SIGTERM)
        self.redis.wait(timeout=60)
        self.redis = None
        wait_until(lambda: not self._redis_answers(), "redis-server to stop")

    def status(self, path: str) -> int:
        """The HTTP status of ``GET path`` (no key), or 0 when the service does not answer."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0

    def close(self) -> None:
        """Stops the service and Redis (by their process ids) and removes the directory."""
        for process in (self.service, self.redis):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=2) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _tokenledger(self, arguments: List[str]) -> str:
        completed = subprocess.run(
            [self.binary] + arguments, env=self.environment, capture_output=True, timeout=120
        )
        if completed.returncode != 0:
            raise AssertionError(
                "tokenledger %s exited %d: %s"
                % (arguments[0], completed.returncode, completed.stderr.decode("utf-8", "replace"))
            )
        return completed.stdout.decode("utf-8")
