"""The opt-in OpenAI backend against a local server on 127.0.0.1 that speaks the API (the real one is off limits)."""

from __future__ import annotations

import logging
import os
import stat

import numpy as np
import pytest

from therapybridge.asr import TranscribeOptions, load_transcriber
from therapybridge.asr import openai_api
from therapybridge.asr.openai_api import UPLOAD_LIMIT_BYTES, OpenAITranscriber, RetryPolicy
from therapybridge.errors import (
    RemoteAuthError,
    RemoteNotAllowedError,
    RemoteQuotaError,
    RemoteUnavailableError,
)
from tests.asr.openai_server import FakeTranscriptionAPI

KEY = "sk-test-0123456789abcdef"
RATE = 16000
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, total_seconds=10.0, request_timeout=30.0)


def bursts(seconds: float, seed: int = 0, noise_db: float = -50.0) -> tuple[np.ndarray, list[float]]:
    """Room noise with a 0.5 s tone burst every 1.5-3.5 s (cheap stand-in for speech); returns the onsets too."""
    rng = np.random.default_rng(seed)
    audio = (rng.standard_normal(int(seconds * RATE)) * 10 ** (noise_db / 20)).astype(np.float32)
    tone = (0.4 * np.sin(2 * np.pi * 440 * np.arange(RATE // 2) / RATE)).astype(np.float32)
    onsets, t = [], 1.0
    while t + 0.6 < seconds:
        start = int(t * RATE)
        audio[start : start + len(tone)] += tone
        onsets.append(start / RATE)
        t += 0.5 + rng.uniform(1.0, 3.0)
    return audio, onsets


@pytest.fixture
def api():
    with FakeTranscriptionAPI() as server:
        yield server


def transcriber(api, **kwargs) -> OpenAITranscriber:
    kwargs.setdefault("retry", FAST_RETRY)
    return OpenAITranscriber(TranscribeOptions(), allow_remote=True, api_key=KEY, base_url=api.base_url, **kwargs)


def word_starts(result) -> list[float]:
    return [w.start for s in result.segments for w in s.words]


@pytest.mark.slow
def test_an_hour_is_split_under_the_upload_limit_with_continuous_times(api, tmp_path, monkeypatch):
    monkeypatch.setattr(openai_api.tempfile, "tempdir", str(tmp_path))
    audio, onsets = bursts(3600.0)
    result = transcriber(api).transcribe(audio, RATE)
    assert len(api.uploads) >= 6  # at most 10 minutes per upload
    assert all(0 < u.size < UPLOAD_LIMIT_BYTES for u in api.uploads)
    starts = word_starts(result)
    assert len(starts) == len(onsets), "a burst was lost or cut in two at a piece boundary"
    assert np.max(np.abs(np.array(starts) - np.array(onsets))) < 0.02
    assert result.segments[-1].end > 3590.0
    assert list(tmp_path.iterdir()) == [], "the private upload directory was left behind"


def test_uploads_follow_the_byte_limit_and_the_api_contract(api, monkeypatch):
    audio, onsets = bursts(120.0, noise_db=-28.0)  # loud noise barely compresses
    seen_modes = []
    real_encode = openai_api._encode_flac

    def encode(samples, path):
        seen_modes.append(stat.S_IMODE(os.stat(path.parent).st_mode))
        return real_encode(samples, path)

    monkeypatch.setattr(openai_api, "_encode_flac", encode)
    result = transcriber(api, max_upload_bytes=1_000_000).transcribe(audio, RATE)
    assert len(api.uploads) >= 4 and all(u.size <= 1_000_000 for u in api.uploads)
    assert set(seen_modes) == {0o700}
    first = api.uploads[0]
    assert first.authorization == f"Bearer {KEY}"
    assert first.fields["model"] == ["whisper-1"] and first.fields["response_format"] == ["verbose_json"]
    assert sorted(first.fields["timestamp_granularities[]"]) == ["segment", "word"]
    assert first.filename.endswith(".flac")
    assert len(word_starts(result)) == len(onsets)
    assert result.language == "english"


def test_a_rate_limit_then_success_is_retried(api, caplog):
    api.fail_with = [429]
    delays = []
    caplog.set_level(logging.DEBUG)
    audio, onsets = bursts(20.0)
    result = transcriber(api, sleep=delays.append).transcribe(audio, RATE)
    assert len(api.uploads) == 2 and len(delays) == 1 and 0 <= delays[0] <= FAST_RETRY.max_delay
    assert len(word_starts(result)) == len(onsets)
    assert KEY not in caplog.text


def test_a_persistent_server_error_fails_with_one_clear_line_after_bounded_retries(api):
    api.fail_with = [500] * 10
    delays = []
    audio, _ = bursts(10.0)
    with pytest.raises(RemoteUnavailableError) as info:
        transcriber(api, sleep=delays.append).transcribe(audio, RATE)
    message = str(info.value)
    assert "\n" not in message and "HTTP 500" in message and "4 attempt" in message
    assert len(api.uploads) == FAST_RETRY.max_attempts and len(delays) == FAST_RETRY.max_attempts - 1
    assert all(0 <= d <= FAST_RETRY.max_delay for d in delays)


def test_retries_stop_at_the_total_time_budget(api):
    api.fail_with = [503] * 10
    slow = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=1.0, total_seconds=0.5, request_timeout=30.0)
    audio, _ = bursts(10.0)
    with pytest.raises(RemoteUnavailableError, match="HTTP 503"):
        transcriber(api, retry=slow, seed=1, sleep=lambda s: None).transcribe(audio, RATE)
    assert len(api.uploads) < 10


def test_a_rejected_key_is_an_auth_error_without_the_key(api):
    api.fail_with = [401]
    with pytest.raises(RemoteAuthError, match="401") as info:
        transcriber(api).transcribe(bursts(5.0)[0], RATE)
    assert KEY not in str(info.value) and len(api.uploads) == 1


def test_an_exhausted_quota_is_not_retried(api):
    api.fail_with = ["quota"]
    with pytest.raises(RemoteQuotaError, match="quota"):
        transcriber(api).transcribe(bursts(5.0)[0], RATE)
    assert len(api.uploads) == 1


def test_a_missing_key_is_a_clear_error(api, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    backend = OpenAITranscriber(allow_remote=True, base_url=api.base_url)
    with pytest.raises(RemoteAuthError, match="OPENAI_API_KEY"):
        backend.transcribe(bursts(5.0)[0], RATE)
    assert api.uploads == []


def test_remote_needs_explicit_permission(monkeypatch):
    monkeypatch.delenv("THERAPYBRIDGE_ALLOW_REMOTE", raising=False)
    with pytest.raises(RemoteNotAllowedError, match="--allow-remote"):
        load_transcriber("openai", TranscribeOptions(), "cpu")
    monkeypatch.setenv("THERAPYBRIDGE_ALLOW_REMOTE", "1")
    assert isinstance(load_transcriber("openai", TranscribeOptions(), "cpu"), OpenAITranscriber)
