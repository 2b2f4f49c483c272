"""Fixtures for the recognition tests: real models loaded once per session, the real sample, real noise."""

from __future__ import annotations

import numpy as np
import pytest

from tests.datagen import read_wav
from tests.references import SAMPLE_WAV


@pytest.fixture(scope="session")
def sample_audio() -> np.ndarray:
    audio, rate = read_wav(SAMPLE_WAV)
    assert rate == 16000
    return audio


@pytest.fixture(scope="session")
def tiny_en():
    from therapybridge.asr.local import FasterWhisperTranscriber

    transcriber = FasterWhisperTranscriber({"model": "tiny.en"}, "cpu")
    transcriber.load()
    return transcriber


@pytest.fixture(scope="session")
def base():
    from therapybridge.asr.local import FasterWhisperTranscriber

    transcriber = FasterWhisperTranscriber({"model": "base"}, "cpu")
    transcriber.load()
    return transcriber


@pytest.fixture(scope="session")
def white_noise() -> np.ndarray:
    """20 s of loud white noise (about -20 dBFS)."""
    return (np.random.default_rng(7).standard_normal(20 * 16000) * 0.1).astype(np.float32)
