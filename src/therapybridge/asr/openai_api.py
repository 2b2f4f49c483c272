"""Opt-in remote recognition through the OpenAI audio API (``whisper-1``, ``verbose_json`` with word timestamps).

Therapy audio is health data, so this backend refuses to run unless the caller allows audio to leave the machine
(``allow_remote=True``, the CLI's ``--allow-remote``, or ``THERAPYBRIDGE_ALLOW_REMOTE=1``). The API key comes from
``OPENAI_API_KEY`` (or ``api_key=``) and is never logged or put into an error message.

The recording is cut at quiet points into pieces whose FLAC encoding stays under the API's 25 MB upload limit; the
pieces are encoded in a private temporary directory (mode 0700, removed afterwards) and sent one by one, and their
times are shifted back onto the recording's clock. Failed requests (429, 5xx, timeouts, dropped connections) are
retried with exponential backoff and full jitter within a bounded total time; the client's own retries are off so
these are the only ones.
"""

from __future__ import annotations

import logging
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import (
    ConfigurationError,
    DependencyError,
    RemoteAuthError,
    RemoteBackendError,
    RemoteNotAllowedError,
    RemoteQuotaError,
    RemoteUnavailableError,
)
from ..perf.hooks import NULL_PROFILER, StageProfiler
from ..types import Segment, Word
from ._signal import SAMPLE_RATE, mono_16k, quietest_point, split_at_quiet
from .base import ASRResult, TranscribeOptions, Transcriber
from .local import annotate, is_non_speech

logger = logging.getLogger(__name__)

ALLOW_REMOTE_ENV = "THERAPYBRIDGE_ALLOW_REMOTE"
API_KEY_ENV = "OPENAI_API_KEY"
UPLOAD_LIMIT_BYTES = 25 * 1024 * 1024
# Raw 16-bit mono PCM at 16 kHz: FLAC is never meaningfully larger, so this bounds a piece's upload size.
_PCM_BYTES_PER_SECOND = 2 * SAMPLE_RATE


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most ``max_attempts`` tries and ``total_seconds`` of trying per uploaded piece."""

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    total_seconds: float = 300.0
    request_timeout: float = 120.0

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**attempt)], or the server's Retry-After if longer."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        wait = rng.uniform(0.0, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait


@dataclass(frozen=True)
class _Piece:
    start: int  # samples on the recording's clock
    end: int

    @property
    def offset(self) -> float:
        return self.start / SAMPLE_RATE


class OpenAITranscriber(Transcriber):
    """Recognition through the OpenAI API; same result type as the local backend."""

    name = "openai"

    def __init__(
        self,
        options: "TranscribeOptions | dict[str, Any] | None" = None,
        *,
        allow_remote: bool = False,
        api_key: str | None = None,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        max_upload_bytes: int = UPLOAD_LIMIT_BYTES - 1024 * 1024,
        max_piece_seconds: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        if not (allow_remote or os.environ.get(ALLOW_REMOTE_ENV, "").strip() == "1"):
            raise RemoteNotAllowedError(
                "the openai backend sends the recording to OpenAI's servers; pass --allow-remote "
                f"(or set {ALLOW_REMOTE_ENV}=1) to allow that, or use the local backend"
            )
        if max_upload_bytes <= 0 or max_upload_bytes > UPLOAD_LIMIT_BYTES:
            raise ConfigurationError(f"max_upload_bytes must be between 1 and {UPLOAD_LIMIT_BYTES}")
        self.options = TranscribeOptions.from_dict(options)
        self.retry = retry or RetryPolicy()
        self.max_upload_bytes = max_upload_bytes
        self.max_piece_seconds = max_piece_seconds
        self._api_key = api_key
        self._base_url = base_url
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._client: Any = None

    def __repr__(self) -> str:  # never show the key
        return f"OpenAITranscriber(model={self.options.remote_model!r}, base_url={self._base_url!r})"

    @property
    def model_id(self) -> str:
        return f"openai:{self.options.remote_model}"

    def load(self, profiler: StageProfiler = NULL_PROFILER) -> None:
        if self._client is not None:
            return
        with profiler.subprocess("model_loading", backend=self.name, model=self.options.remote_model):
            try:
                import openai
            except ImportError as exc:
                raise DependencyError("the openai backend needs the openai package: pip install 'therapybridge[api]'") from exc
            key = self._api_key or os.environ.get(API_KEY_ENV, "")
            if not key.strip():
                raise RemoteAuthError(f"no OpenAI API key: set {API_KEY_ENV} or use the local backend")
            self._client = openai.OpenAI(
                api_key=key.strip(), base_url=self._base_url, max_retries=0, timeout=self.retry.request_timeout
            )

    def transcribe(
        self, audio: np.ndarray, sample_rate: int = SAMPLE_RATE, *, profiler: StageProfiler = NULL_PROFILER,
        decode_gain: float = 1.0, language: str | None = None,
    ) -> ASRResult:
        """Recognise by uploading FLAC pieces; ``decode_gain`` is not applied (the service sets its own level)."""
        self.load(profiler)
        samples = mono_16k(audio, sample_rate)
        segments: list[Segment] = []
        language = language or self.options.language
        sent = 0
        with tempfile.TemporaryDirectory(prefix="therapybridge-upload-") as private:
            os.chmod(private, 0o700)  # mkdtemp already does; say it where it matters
            for piece, path, size in self._encoded(samples, Path(private), profiler):
                seconds = round((piece.end - piece.start) / SAMPLE_RATE, 3)
                with profiler.subprocess("inference", piece=sent, upload_bytes=size, audio_seconds=seconds) as span:
                    response = self._request(path)
                    found = _segments_from(response, piece, self.options)
                    annotate(span, segments=len(found), words=sum(len(s.words) for s in found))
                path.unlink(missing_ok=True)
                segments.extend(found)
                language = language or _field(response, "language")
                sent += 1
        return ASRResult(
            segments=tuple(segments),
            language=language,
            model=self.model_id,
            info={"backend": self.name, "pieces": sent, "audio_seconds": round(len(samples) / SAMPLE_RATE, 3)},
        )

    def _encoded(
        self, samples: np.ndarray, directory: Path, profiler: StageProfiler
    ) -> Iterator[tuple[_Piece, Path, int]]:
        """FLAC files of the pieces in order; a piece that still encodes too large is halved at a quiet point."""
        queue = self._pieces(samples)
        count = 0
        while queue:
            piece = queue.pop(0)
            path = directory / f"piece-{count:04d}.flac"
            count += 1
            with profiler.subprocess("encode", audio_seconds=round((piece.end - piece.start) / SAMPLE_RATE, 3)):
                size = _encode_flac(samples[piece.start : piece.end], path)
            if size > self.max_upload_bytes:
                path.unlink(missing_ok=True)
                queue[:0] = _halves(samples, piece)
                continue
            yield piece, path, size

    # -- pieces under the upload limit -------------------------------------------------------------------------

    def _pieces(self, samples: np.ndarray) -> list[_Piece]:
        """Cut where it is quiet so that even an incompressible piece stays under the upload limit."""
        by_size = (self.max_upload_bytes - 64 * 1024) / _PCM_BYTES_PER_SECOND
        longest = int(min(self.max_piece_seconds, by_size) * SAMPLE_RATE)
        if longest < SAMPLE_RATE:
            raise ConfigurationError("the upload limit is too small to hold one second of audio")
        if len(samples) == 0:
            return []
        spans = split_at_quiet(samples, 0, len(samples), longest, frame=SAMPLE_RATE // 10)
        return [_Piece(start, end) for start, end in spans]

    # -- the request, with bounded retries ---------------------------------------------------------------------

    def _request(self, path: Path) -> Any:
        """One piece, retried on rate limits, server errors, timeouts and dropped connections within the policy."""
        import openai

        deadline = time.monotonic() + self.retry.total_seconds
        last_error = "no response"
        for attempt in range(self.retry.max_attempts):
            try:
                with path.open("rb") as upload:
                    return self._client.audio.transcriptions.create(
                        file=(path.name, upload, "audio/flac"),
                        model=self.options.remote_model,
                        response_format="verbose_json",
                        timestamp_granularities=["word", "segment"],
                        **self._optional_fields(),
                    )
            except openai.AuthenticationError as exc:
                raise RemoteAuthError(f"the OpenAI API rejected the API key (HTTP 401); check {API_KEY_ENV}") from exc
            except openai.RateLimitError as exc:
                if _error_code(exc) == "insufficient_quota":
                    raise RemoteQuotaError(
                        "the OpenAI account has no quota left (HTTP 429 insufficient_quota); check billing or use "
                        "the local backend"
                    ) from exc
                last_error, retry_after = "HTTP 429 (rate limited)", _retry_after(exc)
            except openai.APIStatusError as exc:
                if exc.status_code < 500:
                    raise RemoteBackendError(
                        f"the OpenAI API refused the request (HTTP {exc.status_code}): {_message(exc)}"
                    ) from exc
                last_error, retry_after = f"HTTP {exc.status_code}", _retry_after(exc)
            except openai.APITimeoutError:
                last_error, retry_after = "a timeout", None
            except openai.APIConnectionError:
                last_error, retry_after = "a connection failure", None
            wait = self.retry.delay(attempt, self._rng, retry_after)
            if attempt + 1 >= self.retry.max_attempts or time.monotonic() + wait > deadline:
                break
            logger.info("OpenAI API: %s; retrying in %.1f s (attempt %d)", last_error, wait, attempt + 2)
            self._sleep(wait)
        raise RemoteUnavailableError(
            f"the OpenAI API kept failing ({last_error}) after {attempt + 1} attempt(s); try again later or use the "
            "local backend"
        )

    def _optional_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self.options.language:
            fields["language"] = self.options.language
        prompt = " ".join(p for p in (self.options.initial_prompt, self.options.hotwords) if p)
        if prompt:
            fields["prompt"] = prompt
        return fields


def _halves(samples: np.ndarray, piece: _Piece) -> list[_Piece]:
    if piece.end - piece.start < 2 * SAMPLE_RATE:
        raise RemoteBackendError("cannot fit the audio under the API's upload limit")
    third = (piece.end - piece.start) // 3
    cut = quietest_point(samples, piece.start + third, piece.end - third, SAMPLE_RATE // 10)
    return [_Piece(piece.start, cut), _Piece(cut, piece.end)]


# -- encoding -----------------------------------------------------------------------------------------------------


def _encode_flac(samples: np.ndarray, path: Path) -> int:
    """16 kHz mono 16-bit FLAC through PyAV; returns the file size in bytes."""
    import av

    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    with av.open(str(path), mode="w", format="flac") as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE, layout="mono")
        block = SAMPLE_RATE * 10
        for start in range(0, len(pcm), block):
            frame = av.AudioFrame.from_ndarray(pcm[None, start : start + block], format="s16", layout="mono")
            frame.sample_rate = SAMPLE_RATE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path.stat().st_size


# -- responses ------------------------------------------------------------------------------------------------------


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


@dataclass(frozen=True)
class _RemoteSegment:
    """The fields of a verbose_json segment that the hallucination guards read."""

    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


def _segments_from(response: Any, piece: _Piece, opts: TranscribeOptions) -> list[Segment]:
    """verbose_json segments with their words, shifted by the piece's offset; hallucinated windows dropped."""
    words = [
        Word(
            start=round(float(_field(w, "start")) + piece.offset, 3),
            end=round(float(_field(w, "end")) + piece.offset, 3),
            word=str(_field(w, "word")).strip(),
        )
        for w in (_field(response, "words") or [])
    ]
    raw = _field(response, "segments") or []
    if not raw:
        text = str(_field(response, "text") or "").strip()
        if not text:
            return []
        start = words[0].start if words else piece.offset
        end = words[-1].end if words else round(piece.end / SAMPLE_RATE, 3)
        return [Segment(start=start or 0.0, end=end or 0.0, text=text, words=tuple(words))]
    spans = [(float(_field(seg, "start")) + piece.offset, float(_field(seg, "end")) + piece.offset) for seg in raw]
    owned: list[list[Word]] = [[] for _ in raw]
    for word in words:
        owned[_nearest_span(spans, ((word.start or 0.0) + (word.end or 0.0)) / 2.0)].append(word)
    segments = []
    for seg, (start, end), seg_words in zip(raw, spans, owned):
        guard = _RemoteSegment(
            no_speech_prob=float(_field(seg, "no_speech_prob", 0.0) or 0.0),
            avg_logprob=float(_field(seg, "avg_logprob", 0.0) or 0.0),
            compression_ratio=float(_field(seg, "compression_ratio", 0.0) or 0.0),
        )
        if is_non_speech(guard, opts):
            continue
        text = str(_field(seg, "text") or "").strip()
        segments.append(Segment(start=round(start, 3), end=round(end, 3), text=text, words=tuple(seg_words)))
    return segments


def _nearest_span(spans: list[tuple[float, float]], t: float) -> int:
    """The segment that holds ``t``, else the closest one (the API's words and segments can disagree a little)."""
    return min(range(len(spans)), key=lambda i: 0.0 if spans[i][0] <= t <= spans[i][1] else min(
        abs(t - spans[i][0]), abs(t - spans[i][1])))


def _error_code(exc: Any) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return error.get("code") or error.get("type")
    return getattr(exc, "code", None)


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:200]
    return type(exc).__name__


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
