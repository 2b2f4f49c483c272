"""The wire protocol of ``/v1/live``, apart from any web framework: the start message, audio frames, close codes.

A client opens the WebSocket (its token either offered as the subprotocol ``bearer.<token>`` beside
:data:`SUBPROTOCOL`, or as ``token`` in the first message), sends one JSON ``start`` message, then binary frames of
raw little-endian PCM (``s16le`` or ``f32le``, mono, at the declared ``sample_rate``), then ``{"type": "stop"}``.
Anything else ends the session with a :class:`ProtocolViolation`, which carries the close code and its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigurationError, TherapyBridgeError
from .options import JobOptions

SUBPROTOCOL = "therapybridge.live.v1"
TOKEN_PREFIX = "bearer."
LIVE_RATE = 16000  # what the live core takes
FORMATS = {"s16le": ("<i2", 32768.0), "f32le": ("<f4", None)}
MIN_RATE, MAX_RATE = 8000, 192000
# One frame is at most this many bytes: 2.7 s of 48 kHz f32le, far more than a browser's 20-100 ms frames.
MAX_FRAME_BYTES = 512 * 1024
MAX_TEXT_BYTES = 4096

# Close codes (RFC 6455 section 7.4.1).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_INVALID_DATA = 1007  # a frame that is not what the start message declared, a message that is not JSON
CLOSE_POLICY = 1008  # no or a bad token, or a first message that is not a valid start
CLOSE_TOO_BIG = 1009
CLOSE_ERROR = 1011
CLOSE_TRY_LATER = 1013  # another live session is running

_START_KEYS = {"type", "token", "format", "sample_rate", "speakers", "min_speakers", "max_speakers", "final_pass",
               "formats"}


class ProtocolViolation(TherapyBridgeError):
    """A client broke the protocol; ``code`` is the WebSocket close code and the message its one-line reason."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LiveStart:
    """What the ``start`` message asked for."""

    format: str = "s16le"
    sample_rate: int = LIVE_RATE
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    final_pass: bool = True
    formats: tuple[str, ...] = JobOptions().formats

    def job_options(self, model: str | None = None) -> JobOptions:
        """The job the session's results are stored as (and the final pass runs with)."""
        return JobOptions(model=model, num_speakers=self.num_speakers, min_speakers=self.min_speakers,
                          max_speakers=self.max_speakers, formats=self.formats)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "sample_rate": self.sample_rate, "speakers": self.num_speakers,
                "min_speakers": self.min_speakers, "max_speakers": self.max_speakers,
                "final_pass": self.final_pass, "formats": list(self.formats)}


def token_from_subprotocols(offered: list[str]) -> tuple[str | None, str | None]:
    """``(token, subprotocol to accept)`` from the offered ``Sec-WebSocket-Protocol`` values.

    The accepted one is :data:`SUBPROTOCOL` when offered (never the token itself, which must not be echoed)."""
    token = next((p[len(TOKEN_PREFIX):] for p in offered if p.startswith(TOKEN_PREFIX)), None)
    return token or None, SUBPROTOCOL if SUBPROTOCOL in offered else None


def parse_message(text: str) -> dict[str, Any]:
    """A text message as a JSON object with a string ``type``."""
    if len(text.encode("utf-8", "replace")) > MAX_TEXT_BYTES:
        raise ProtocolViolation(CLOSE_TOO_BIG, f"a text message is longer than {MAX_TEXT_BYTES} bytes")
    try:
        message = json.loads(text)
    except ValueError:
        raise ProtocolViolation(CLOSE_INVALID_DATA, "a text message is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolViolation(CLOSE_INVALID_DATA, 'a text message must be a JSON object with a "type"')
    return message


def parse_start(message: dict[str, Any]) -> tuple[LiveStart, str | None]:
    """The session's settings and the token given in it (None when there is none)."""
    if message.get("type") != "start":
        raise ProtocolViolation(CLOSE_POLICY, f'the first message must be {{"type": "start", ...}}, '
                                f'got type {str(message.get("type"))[:20]!r}')
    unknown = sorted(set(message) - _START_KEYS)
    if unknown:
        raise ProtocolViolation(CLOSE_POLICY, f"unknown field(s) in the start message: {', '.join(unknown)[:80]}")
    token = message.get("token")
    if token is not None and not isinstance(token, str):
        raise ProtocolViolation(CLOSE_POLICY, "token must be a string")
    fmt = message.get("format", "s16le")
    if fmt not in FORMATS:
        raise ProtocolViolation(CLOSE_POLICY, f"format must be one of {', '.join(FORMATS)}")
    rate = message.get("sample_rate", LIVE_RATE)
    if not _is_int(rate) or not MIN_RATE <= rate <= MAX_RATE:
        raise ProtocolViolation(CLOSE_POLICY, f"sample_rate must be an integer from {MIN_RATE} to {MAX_RATE}")
    final_pass = message.get("final_pass", True)
    if not isinstance(final_pass, bool):
        raise ProtocolViolation(CLOSE_POLICY, "final_pass must be true or false")
    hints = {key: message.get(key) for key in ("speakers", "min_speakers", "max_speakers")}
    if any(value is not None and not _is_int(value) for value in hints.values()):
        raise ProtocolViolation(CLOSE_POLICY, "speakers, min_speakers and max_speakers must be integers")
    formats = message.get("formats")
    if formats is not None and not (isinstance(formats, list) and all(isinstance(f, str) for f in formats)):
        raise ProtocolViolation(CLOSE_POLICY, "formats must be a list of format names")
    try:
        checked = JobOptions(num_speakers=hints["speakers"], min_speakers=hints["min_speakers"],
                             max_speakers=hints["max_speakers"],
                             formats=JobOptions.parse_formats(",".join(formats) if formats else None))
    except ConfigurationError as exc:
        raise ProtocolViolation(CLOSE_POLICY, str(exc)) from None
    start = LiveStart(format=fmt, sample_rate=rate, num_speakers=checked.num_speakers,
                      min_speakers=checked.min_speakers, max_speakers=checked.max_speakers, final_pass=final_pass,
                      formats=checked.formats)
    return start, token


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FrameDecoder:
    """Binary frames of the declared format → float32 mono samples at the client's rate, checked."""

    def __init__(self, fmt: str) -> None:
        self.dtype, self.scale = FORMATS[fmt]
        self.width = np.dtype(self.dtype).itemsize

    def decode(self, frame: bytes) -> np.ndarray:
        if len(frame) > MAX_FRAME_BYTES:
            raise ProtocolViolation(CLOSE_TOO_BIG, f"an audio frame is larger than {MAX_FRAME_BYTES} bytes")
        if len(frame) % self.width:
            raise ProtocolViolation(CLOSE_INVALID_DATA, f"an audio frame of {len(frame)} bytes is not a whole number "
                                    f"of {self.width}-byte samples")
        samples = np.frombuffer(frame, dtype=self.dtype)
        if self.scale is not None:
            return samples.astype(np.float32) / np.float32(self.scale)
        samples = samples.astype(np.float32)
        if not np.isfinite(samples).all():
            raise ProtocolViolation(CLOSE_INVALID_DATA, "an audio frame holds samples that are not finite (NaN/Inf)")
        return samples
