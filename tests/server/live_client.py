"""What the live tests share: a cut of a corpus recording with both speakers, and a small /v1/live client."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from therapybridge.server.live_protocol import SUBPROTOCOL, TOKEN_PREFIX

# Corpus d01 (dev half), its first 12 s: the therapist asks (1.0-3.3 s, 11 words), the client answers (4.2-11.0 s,
# 22 words). Live tiny.en committed 33-34 words on it and its four re-recordings (acoustic seeds 1-4; 33 on all five
# with the core's new-speaker threshold 0.60 of 8d7494f), every
# therapist word to one speaker and every client word to another.
SESSION_ID = "d01"
CLIP_SECONDS = 12.0
THERAPIST_WORDS = ("carry", "own")  # in the therapist's question
CLIENT_WORDS = ("days", "fine", "small", "knocks")  # in the client's answer
FRAME_SECONDS = 0.1  # what the page's AudioWorklet sends


@lru_cache(maxsize=4)
def corpus_clip(rate: int, seconds: float = CLIP_SECONDS) -> np.ndarray:
    """The first ``seconds`` of the corpus session as float32 mono at ``rate``."""
    from therapybridge.audio import decode_audio
    from therapybridge.audio.signal import resample, to_mono
    from tests.corpus.build import build_session
    from tests.corpus.sessions import session

    decoded = decode_audio(build_session(session(SESSION_ID)).audio)
    mono = to_mono(decoded.waveform.numpy())
    return np.ascontiguousarray(resample(mono, decoded.sample_rate, rate)[: int(seconds * rate)], dtype=np.float32)


def live_token(server, name: str) -> str:
    """A token of the running server, made in this process (the CLI's way is tested in test_api; a subprocess per
    token costs seconds); kept in ``server.tokens`` so the log checks cover it."""
    if name not in server.tokens:
        from therapybridge.server.store import JobStore
        from therapybridge.server.tokens import create_token

        server.tokens[name] = create_token(JobStore(server.data_dir / "jobs.sqlite3"), name)
    return server.tokens[name]


def revoke(server, name: str) -> None:
    from therapybridge.server.store import JobStore
    from therapybridge.server.tokens import revoke_token

    assert revoke_token(JobStore(server.data_dir / "jobs.sqlite3"), name) == 1


def s16le(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def frames(pcm: bytes, rate: int, width: int) -> list[bytes]:
    step = int(rate * FRAME_SECONDS) * width
    return [pcm[i: i + step] for i in range(0, len(pcm), step)]


@dataclass
class Conversation:
    """Everything one connection received, and how it closed."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    subprotocol: str | None = None
    close_code: int | None = None
    close_reason: str | None = None

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    @property
    def end(self) -> dict[str, Any]:
        (end,) = self.of("end")
        return end

    def committed_words(self) -> list[dict[str, Any]]:
        return [w for m in self.of("committed") for w in m["words"]]

    def speaker_of(self, speaker: str) -> str:
        """``speaker`` after every relabel the session announced (merged clusters)."""
        aliases = {m["from"]: m["to"] for m in self.of("relabel")}
        while speaker in aliases:
            speaker = aliases[speaker]
        return speaker


def connect(url: str, *, header_token: str | None = None, protocol: bool = True):
    from websockets.sync.client import connect as ws_connect

    offered = ([SUBPROTOCOL] if protocol else []) + ([TOKEN_PREFIX + header_token] if header_token else [])
    return ws_connect(url.replace("http://", "ws://") + "/v1/live", subprotocols=offered or None, proxy=None,
                      compression=None, max_size=None, max_queue=None, open_timeout=30)


def read_all(ws, conversation: Conversation, timeout: float = 240.0) -> Conversation:
    """Receive until the server closes."""
    from websockets.exceptions import ConnectionClosed

    try:
        while True:
            conversation.messages.append(json.loads(ws.recv(timeout=timeout)))
    except ConnectionClosed:
        pass
    conversation.close_code, conversation.close_reason = ws.close_code, ws.close_reason
    return conversation


def ready(ws, conversation: Conversation, start: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
    """Send ``start`` and wait for the server's ``ready`` (the first session loads the live models)."""
    conversation.subprotocol = ws.subprotocol
    ws.send(json.dumps({"type": "start", **start}))
    message = json.loads(ws.recv(timeout=timeout))
    conversation.messages.append(message)
    assert message["type"] == "ready", message
    return message


def wait_until_idle(server, timeout: float = 300.0) -> None:
    """Wait until the server takes a new live session (one left by an earlier test may still be finishing):
    a session with no audio is started and stopped, retried while the server answers 1013 (busy)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        conversation = Conversation()
        with connect(server.url, header_token=live_token(server, "live")) as ws:
            ws.send(json.dumps({"type": "start"}))
            reply = json.loads(ws.recv(timeout=timeout))
            if reply["type"] == "ready":
                ws.send(json.dumps({"type": "stop"}))
            read_all(ws, conversation, timeout=timeout)
        if reply["type"] == "ready":
            return
        assert conversation.close_code == 1013 and time.monotonic() < deadline, (reply, conversation.close_code)
        time.sleep(1.0)
