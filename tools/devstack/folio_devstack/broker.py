"""A RabbitMQ node of a test's own, so the test can really restart the broker.

The shared broker on 5672 serves every other test (and perhaps other work on the machine);
restarting it would break them. This starts a second node from the installed
``rabbitmq-server`` with its own name, ports, data and log directories, no plugins, and
loopback listeners only. ``restart()`` stops and starts the broker application the way an
operator's restart does: every client connection is closed, durable queues and persistent
messages survive, unacknowledged deliveries are requeued.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import IO

from folio_devstack.infra import InfraError, port_open


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateBroker:
    def __init__(self) -> None:
        # Not under pytest's tmp_path: as root the node runs as the rabbitmq user, who
        # cannot enter pytest's private directories.
        self.base = Path(tempfile.mkdtemp(prefix="folio-rabbitmq-"))
        self.base.chmod(0o755)
        self.name = f"folio-{uuid.uuid4().hex[:8]}@localhost"
        self.port = _free_port()
        self.dist_port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._console: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            # The cookie the node creates in its HOME is the one rabbitmqctl reads.
            "HOME": str(self.base),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(self.base / "feature_flags"),
        }

    def start(self, timeout_s: float = 120) -> None:
        if shutil.which("rabbitmq-server") is None:
            raise InfraError("rabbitmq-server is not installed (scripts/setup.sh installs it)")
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users.guest = true\n"
        )
        if os.geteuid() == 0:
            # Debian's rabbitmq-server script runs the node as the rabbitmq user.
            with contextlib.suppress(KeyError, OSError):
                shutil.chown(self.base, user="rabbitmq")
                for path in self.base.rglob("*"):
                    shutil.chown(path, user="rabbitmq")
        self._console = (self.base / "console.log").open("wb")
        self._process = subprocess.Popen(
            ["rabbitmq-server"],
            env=self._env(),
            cwd=self.base,
            stdout=self._console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_running(timeout_s)

    def _ctl(self, *args: str, timeout_s: float = 60) -> None:
        result = subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.name, *args],
            env=self._env(),
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
        if result.returncode != 0:
            raise InfraError(f"rabbitmqctl {' '.join(args)}: {result.stderr.decode()[-300:]}")

    def _wait_running(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                logs = [self.base / "console.log", *(self.base / "log").glob("*.log")]
                log = "\n".join(p.read_text(errors="replace")[-800:] for p in logs)
                raise InfraError(f"the private RabbitMQ node exited: {log}")
            if port_open("127.0.0.1", self.port):
                with contextlib.suppress(InfraError, subprocess.TimeoutExpired):
                    self._ctl("await_startup", timeout_s=30)
                    return
            time.sleep(0.5)
        raise InfraError(f"the private RabbitMQ node did not start within {timeout_s} s")

    def stop_app(self) -> None:
        """The broker goes away: every connection is closed, nothing is accepted."""
        self._ctl("stop_app")

    def start_app(self) -> None:
        self._ctl("start_app")
        self._ctl("await_startup")

    def close(self) -> None:
        with contextlib.suppress(InfraError, subprocess.TimeoutExpired):
            self._ctl("stop", timeout_s=60)
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)
            if self._console is not None:
                self._console.close()
        shutil.rmtree(self.base, ignore_errors=True)
