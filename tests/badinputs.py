"""A small generated corpus of awkward and broken inputs (issue: reliability), made with PyAV and numpy.

The encoders are the audio tests' own (`tests/audio/media.py`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.audio.media import encode, tiny_video
from tests.datagen import read_wav
from tests.references import SAMPLE_WAV


# Transcript files the commands that read a saved transcript must refuse (``analytics``, ``deidentify``): how to
# make each in a directory (as ``x.json``) and a part of the one error line it must give.
BAD_TRANSCRIPTS = [
    (lambda d: None, "no such transcript"),
    (lambda d: (d / "x.json").write_text('{"schema_version": "1.0", "metrics": {}}'), "does not follow the transcript"),
    (lambda d: (d / "x.json").write_text("not json at all"), "is not a JSON transcript"),
    (lambda d: (d / "x.json").write_text(json.dumps({"audio": {"path": "a.wav", "duration": 3}, "segments": {}})),
     "'segments' must be a list"),
]


def sample_audio() -> tuple[np.ndarray, int]:
    audio, rate = read_wav(SAMPLE_WAV)
    return audio.astype(np.float32), rate


def resample_linear(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    positions = np.arange(int(len(audio) * target / rate)) * rate / target
    return np.interp(positions, np.arange(len(audio)), audio).astype(np.float32)


def build_corpus(directory: Path) -> dict[str, Path]:
    """Write every case into ``directory``; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    audio, rate = sample_audio()
    rng = np.random.default_rng(7)
    cases: dict[str, Path] = {}

    cases["zero_bytes"] = directory / "zero.wav"
    cases["zero_bytes"].write_bytes(b"")
    cases["text_as_wav"] = directory / "notes.wav"
    cases["text_as_wav"].write_text("Session notes. Not audio at all.\n" * 50)
    mp3 = encode(directory / "full.mp3", audio, rate, "libmp3lame", bit_rate=64000)
    cases["truncated_mp3"] = directory / "truncated.mp3"
    cases["truncated_mp3"].write_bytes(mp3.read_bytes()[: mp3.stat().st_size * 2 // 3])
    mp3.unlink()
    cases["video_no_audio"] = tiny_video(directory / "silent-video.mp4", with_audio=False)
    cases["video_with_audio"] = tiny_video(directory / "video.mp4", with_audio=True)
    cases["one_sample"] = encode(directory / "one-sample.wav", audio[6 * rate : 6 * rate + 1], rate)
    cases["silence"] = encode(directory / "silence.wav", np.zeros(rate * 20, dtype=np.float32), rate)
    noise = rng.normal(0, 0.1, rate * 20).astype(np.float32)
    cases["white_noise"] = encode(directory / "noise.wav", noise, rate)
    bad = audio[: rate * 10].copy()
    bad[rate * 2 : rate * 2 + 100] = np.nan
    bad[rate * 4] = np.inf
    cases["nan_inf"] = encode(directory / "nan.wav", bad, rate, "pcm_f32le")
    cases["telephone_8k"] = encode(directory / "phone-8k.wav", resample_linear(audio, rate, 8000), 8000)
    hi = resample_linear(audio, rate, 192000)
    eight = np.stack([hi * (0.5 + 0.05 * c) for c in range(8)])
    cases["hires_192k_8ch"] = encode(directory / "hires-8ch.flac", eight, 192000, "flac")
    cases["clipped"] = encode(directory / "clipped.wav", np.clip(audio * 12.0, -1.0, 1.0), rate)
    start = int(8.44 * rate)
    cases["short_utterance"] = encode(directory / "short.wav", audio[start : start + int(0.3 * rate)], rate)
    return cases
