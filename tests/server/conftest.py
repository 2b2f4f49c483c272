"""The real server as a user runs it: ``therapybridge serve`` in a subprocess on a free loopback port."""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the server tests need the server extra")
import httpx  # noqa: E402

from therapybridge.server.process import ServerProcess, console_command  # noqa: E402
from tests.datagen import read_wav, write_wav  # noqa: E402
from tests.references import SAMPLE_WAV  # noqa: E402

# Every server in these tests: the small model, fixed thread counts (results comparable across servers).
SERVER_ARGS = ("--model", "tiny.en", "--cpu-threads", "2", "--sync-max-seconds", "20", "--max-upload-mb", "3")
UPLOAD_NAME = "jane-doe-intake-session.wav"  # must never show up in the server's logs
READY_TIMEOUT_S = 120.0


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*console_command(), *args], capture_output=True, text=True, timeout=timeout)


@dataclass
class Server(ServerProcess):
    """A running ``therapybridge serve`` with named tokens; ``kill()`` is a kill -9 of its whole process group."""

    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, name: str) -> str:
        if name not in self.tokens:
            made = cli("serve", "token", "create", name, "--data-dir", str(self.data_dir))
            assert made.returncode == 0, made.stderr
            self.tokens[name] = made.stdout.strip()
        return self.tokens[name]

    def client(self, name: str | None = "alice", **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(name)}"} if name else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kwargs)


def start_server(tmp: Path, *extra: str) -> Server:
    tmp.mkdir(parents=True, exist_ok=True)
    return Server(data_dir=tmp / "data", log_path=tmp / "server.log", args=(*SERVER_ARGS, *extra)).start(
        timeout=READY_TIMEOUT_S)


def wait_for(client: httpx.Client, job_id: str, states=("done", "failed"), timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/v1/jobs/{job_id}").json()
        if status.get("state") in states:
            return status
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not reach {states}: {status}")


def submit(client: httpx.Client, path: Path, name: str | None = None, **fields) -> httpx.Response:
    with open(path, "rb") as handle:
        return client.post("/v1/jobs", files={"file": (name or path.name, handle, "audio/wav")},
                           data={k: str(v) for k, v in fields.items()})


def comparable(transcript: dict) -> dict:
    """What must not change between runs: segments, words, speakers and turns (no metrics, no timing fields)."""
    return {key: transcript[key] for key in ("segments", "speakers", "turns", "language")}


class WebhookReceiver:
    """A loopback HTTP endpoint that records every POST body it gets."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.received)

    def close(self) -> None:
        self.httpd.shutdown()


# ---------------------------------------------------------------------- audio
@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Cuts of the sample (15 s and 6 s), a second of near-silence, a text file and a WAV that turns NaN at 10 s."""
    directory = tmp_path_factory.mktemp("server-clips")
    audio, rate = read_wav(SAMPLE_WAV)
    paths = {}
    for name, start, end in (("clip15", 0.0, 15.0), ("clip6", 5.0, 11.0)):
        paths[name] = directory / f"{name}.wav"
        write_wav(paths[name], audio[int(start * rate): int(end * rate)], rate)
    paths["quiet"] = directory / "quiet.wav"
    write_wav(paths["quiet"], np.random.default_rng(0).normal(0, 1e-4, rate).astype(np.float32), rate)
    paths["text"] = directory / "notes.wav"
    paths["text"].write_text("this is not audio, just a text file with a .wav name\n" * 20)
    paths["nan"] = directory / "broken.wav"
    samples = audio[: 12 * rate].astype(np.float32).copy()
    samples[10 * rate:] = np.nan
    _write_float_wav(paths["nan"], samples, rate)
    return paths


def _write_float_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    data = samples.astype("<f4").tobytes()
    header = b"RIFF" + (36 + len(data)).to_bytes(4, "little") + b"WAVE"
    fmt = (b"fmt " + (16).to_bytes(4, "little") + (3).to_bytes(2, "little") + (1).to_bytes(2, "little")
           + rate.to_bytes(4, "little") + (rate * 4).to_bytes(4, "little") + (4).to_bytes(2, "little")
           + (32).to_bytes(2, "little"))
    path.write_bytes(header + fmt + b"data" + len(data).to_bytes(4, "little") + data)


# ---------------------------------------------------------------------- the shared server and its first job
@pytest.fixture(scope="session")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def sample_job(server, webhook):
    """The bundled sample through the jobs API with every format and a webhook; SSE events recorded meanwhile."""
    with server.client("alice") as client:
        response = submit(client, SAMPLE_WAV, UPLOAD_NAME, formats="json,txt,srt,vtt,rttm,html,analytics",
                          webhook_url=webhook.url)
        assert response.status_code == 202, response.text
        job = response.json()
        events = []
        with client.stream("GET", f"/v1/jobs/{job['id']}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            event: dict = {}
            for line in stream.iter_lines():
                if not line:
                    if event:
                        events.append(event)
                    event = {}
                elif line.startswith("event: "):
                    event["event"] = line[7:]
                elif line.startswith("data: "):
                    event["data"] = json.loads(line[6:])
        status = client.get(f"/v1/jobs/{job['id']}").json()
    return {"id": job["id"], "submitted": job, "events": events, "status": status}
