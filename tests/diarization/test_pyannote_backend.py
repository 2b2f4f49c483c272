"""The optional pyannote.audio backend: skipped unless pyannote.audio and its weights are installed."""

from __future__ import annotations

import os

import pytest

from therapybridge.diarization import load_diarizer
from therapybridge.diarization.pyannote_backend import pyannote_available


def test_telemetry_is_switched_off_before_import():
    pyannote_available()
    assert os.environ["PYANNOTE_METRICS_ENABLED"] == "0"


@pytest.mark.skipif(not pyannote_available(), reason="pyannote.audio is not installed")
def test_pyannote_backend_on_sample(sample):
    from therapybridge.errors import ModelNotFoundError

    diarizer = load_diarizer("pyannote", "cpu")
    try:
        diarizer.load()
    except ModelNotFoundError:
        pytest.skip("pyannote weights are not available offline")
    audio, rate, _ = sample
    assert diarizer.diarize(audio, rate).num_speakers >= 1
