"""A small stand-in for the OpenAI audio API on 127.0.0.1, for tests only (the real service cannot be used here).

It speaks ``POST /v1/audio/transcriptions`` with a multipart upload, like the real one, decodes the uploaded audio
with PyAV and answers ``verbose_json``: one word per loud burst, at the burst's time within the upload. Scripted
failures (``fail_with``) are answered first, in order.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

ERRORS = {
    401: {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"},
    429: {"message": "Rate limit reached for requests.", "type": "requests", "code": "rate_limit_exceeded"},
    "quota": {"message": "You exceeded your current quota.", "type": "insufficient_quota", "code": "insufficient_quota"},
    500: {"message": "The server had an error while processing your request.", "type": "server_error", "code": None},
    503: {"message": "The engine is currently overloaded.", "type": "server_error", "code": None},
}


@dataclass
class Upload:
    authorization: str
    fields: dict[str, list[str]]
    filename: str
    size: int


@dataclass
class FakeTranscriptionAPI:
    fail_with: list = field(default_factory=list)  # e.g. [429, 500, "quota", 401]
    uploads: list[Upload] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                if self.path.rstrip("/") != "/v1/audio/transcriptions":
                    return self._reply(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                upload, audio = _parse_multipart(self.headers.get("Content-Type", ""), body)
                upload.authorization = self.headers.get("Authorization", "")
                with api._lock:
                    api.uploads.append(upload)
                    failure = api.fail_with.pop(0) if api.fail_with else None
                if failure is not None:
                    status = 429 if failure == "quota" else int(failure)
                    return self._reply(status, {"error": ERRORS[failure]})
                return self._reply(200, _verbose_json(audio))

            def _reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "FakeTranscriptionAPI":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _parse_multipart(content_type: str, body: bytes) -> tuple[Upload, np.ndarray]:
    message = BytesParser(policy=default_policy).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    fields: dict[str, list[str]] = {}
    filename, audio_bytes = "", b""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename():
            filename, audio_bytes = part.get_filename(), payload
        else:
            fields.setdefault(name, []).append(payload.decode())
    return Upload("", fields, filename, len(audio_bytes)), _decode(audio_bytes)


def _decode(data: bytes) -> np.ndarray:
    import av

    with av.open(io.BytesIO(data)) as container:
        chunks = [frame.to_ndarray().reshape(-1) for frame in container.decode(audio=0)]
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    return pcm.astype(np.float32) / 32768.0


def _verbose_json(audio: np.ndarray, rate: int = 16000) -> dict:
    """One word per burst louder than -20 dBFS, timed to 10 ms within this upload."""
    frame = rate // 100
    usable = len(audio) - len(audio) % frame
    loud = np.sqrt(np.mean(np.square(audio[:usable].reshape(-1, frame)), axis=1)) > 0.1
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
    words, segments = [], []
    for index, (start, end) in enumerate(zip(edges[::2] / 100.0, edges[1::2] / 100.0)):
        words.append({"word": "burst", "start": float(start), "end": float(end)})
        segments.append({
            "id": index, "seek": 0, "start": float(start), "end": float(end), "text": " burst", "tokens": [1],
            "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.1, "no_speech_prob": 0.01,
        })
    return {
        "task": "transcribe", "language": "english", "duration": len(audio) / rate,
        "text": " ".join(w["word"] for w in words), "segments": segments, "words": words,
    }
