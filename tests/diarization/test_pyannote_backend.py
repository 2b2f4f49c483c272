"""The optional pyannote.audio backend: skipped unless pyannote.audio and its weights are installed."""

from __future__ import annotations

import os

import pytest

from therapybridge.diarization import load_diarizer
from therapybridge.diarization.pyannote_backend import pyannote_available


@pytest.mark.parametrize("before", [None, "1"], ids=["unset", "enabled-by-the-user"])
def test_telemetry_is_switched_off_before_import(monkeypatch, before):
    # tests/conftest.py sets the variable for the whole run; start from what a user may have instead.
    if before is None:
        monkeypatch.delenv("PYANNOTE_METRICS_ENABLED", raising=False)
    else:
        monkeypatch.setenv("PYANNOTE_METRICS_ENABLED", before)
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


class _StandInPipeline:
    """Stands in for ``pyannote.audio.Pipeline``: records each load and the hub's offline mode during it."""

    loads: list[tuple[str, str | None]] = []

    @classmethod
    def from_pretrained(cls, source):
        cls.loads.append((source, os.environ.get("HF_HUB_OFFLINE")))
        return cls()

    def to(self, device):
        return self


@pytest.fixture
def stand_in(monkeypatch):
    import sys
    import types

    import therapybridge.diarization.registry as registry

    audio = types.ModuleType("pyannote.audio")
    audio.Pipeline = _StandInPipeline
    package = types.ModuleType("pyannote")
    package.audio = audio
    monkeypatch.setitem(sys.modules, "pyannote", package)
    monkeypatch.setitem(sys.modules, "pyannote.audio", audio)
    monkeypatch.setattr(registry, "_diarizers", {})  # diarizers built here must not outlive the test
    monkeypatch.delenv("THERAPYBRIDGE_PYANNOTE_PIPELINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    _StandInPipeline.loads = []
    return _StandInPipeline.loads


def test_a_hub_name_is_not_downloaded_without_allow_download(stand_in):
    from therapybridge.errors import ModelNotFoundError

    diarizer = load_diarizer("pyannote", "cpu")
    assert diarizer.source == "pyannote/speaker-diarization-3.1"
    with pytest.raises(ModelNotFoundError) as caught:
        diarizer.load()
    message = str(caught.value)
    assert "THERAPYBRIDGE_PYANNOTE_PIPELINE" in message and "local directory" in message
    assert "--allow-download" in message
    assert stand_in == []


def test_allow_download_reaches_the_pyannote_backend_from_the_pipeline(stand_in):
    from therapybridge import AudioTranscriptionPipeline

    pipeline = AudioTranscriptionPipeline(device="cpu", diarizer="pyannote", asr__allow_download=True)
    pipeline.models.diarizer()
    assert stand_in == [("pyannote/speaker-diarization-3.1", None)]


def test_a_local_pipeline_loads_with_the_hub_offline(stand_in, tmp_path, monkeypatch):
    from therapybridge.errors import ModelNotFoundError

    (tmp_path / "config.yaml").write_text("pipeline: {}\n")
    monkeypatch.setenv("THERAPYBRIDGE_PYANNOTE_PIPELINE", str(tmp_path))
    load_diarizer("pyannote", "cpu").load()
    assert stand_in == [(str(tmp_path / "config.yaml"), "1")]
    assert "HF_HUB_OFFLINE" not in os.environ
    monkeypatch.setenv("THERAPYBRIDGE_PYANNOTE_PIPELINE", str(tmp_path / "missing"))
    with pytest.raises(ModelNotFoundError, match="local directory"):
        load_diarizer("pyannote", "cpu", allow_download=True).load()
