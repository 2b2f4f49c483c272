"""``therapybridge serve`` as a child process on a free loopback port, for tests, benchmarks and integrations."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def console_command() -> list[str]:
    """How to run the ``therapybridge`` command of this interpreter's environment."""
    exe = Path(sys.executable).with_name("therapybridge")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "therapybridge.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A ``therapybridge serve`` in its own process group, its output in ``log_path``."""

    data_dir: Path
    log_path: Path
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> "ServerProcess":
        """Start it and wait until ``/readyz`` says a worker has its models loaded."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*console_command(), "serve", "--data-dir", str(self.data_dir), "--port", str(self.port), *self.args],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}): {self.log()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.kill()  # no caller will stop a server it never got: it must not live on with its workers
        raise RuntimeError(f"the server did not become ready in {timeout:g} s: {self.log()[-4000:]}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the server and every process it started, as a crash would."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (workers stop, running jobs are queued again), then make sure nothing of it is left."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        self.kill()
