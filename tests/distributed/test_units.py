"""The parts of therapybridge.distributed that need no cluster: options, progress events, the cluster report."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from therapybridge.distributed import ArchiveProgress, ClusterReport, FileRecord, RayOptions
from therapybridge.errors import ConfigurationError


def test_options_are_checked():
    with pytest.raises(ConfigurationError, match="transport"):
        RayOptions(transport="ftp")
    with pytest.raises(ConfigurationError):
        RayOptions(workers=0)
    assert RayOptions().to_dict()["max_retries"] == 2


def test_progress_event_rate_and_eta():
    event = ArchiveProgress(files_done=2, files_total=10, audio_s_done=7200.0, elapsed_s=100.0)
    assert event.rate_files_per_s == pytest.approx(0.02)
    assert event.eta_s == pytest.approx(400.0)
    assert event.to_dict()["audio_hours_done"] == pytest.approx(2.0)
    assert ArchiveProgress(0, 3, 0.0, 0.0).eta_s is None


def test_cluster_report_per_worker_and_stages(tmp_path):
    records = tuple(
        FileRecord(index=i, worker="w1" if i < 2 else "w2", node="n", submitted=10.0, started=10.0 + i,
                   finished=12.0 + i, cpu_s=2.0, audio_s=60.0, attempts=1, ok=True, stages={"Whisper Transcription": 1.5})
        for i in range(3)
    )
    workers = ({"worker": "w1", "node": "n", "load_s": 3.0, "device": "cpu"},
               {"worker": "w2", "node": "n", "load_s": 3.0, "device": "cpu"})
    report = ClusterReport(records=records, workers=workers, wall_s=4.0, startup_s=1.0, retries=1, cpus_per_worker=1)
    data = report.to_dict()
    assert data["workers"]["w1"]["files"] == 2 and data["workers"]["w1"]["utilisation"] == pytest.approx(1.0)
    assert data["stages"]["Whisper Transcription"] == pytest.approx(4.5)
    assert data["cpu_s_per_audio_hour"] == pytest.approx(120.0)
    assert data["queue_wait_s"]["max"] == pytest.approx(2.0)
    json_path, text_path = report.write(tmp_path)
    assert json.loads(json_path.read_text())["retries"] == 1
    assert "utilisation" in text_path.read_text()
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


def test_cli_progress_bar_counts_audio_hours():
    from therapybridge.cli import _Progress

    progress = _Progress(2, enabled=True)
    with progress:
        progress.advance(SimpleNamespace(transcript=SimpleNamespace(audio=SimpleNamespace(duration=1800.0))))
        progress.advance(SimpleNamespace(transcript=None))  # a failed file
        task = progress._progress.tasks[0]
        assert task.completed == 2 and task.fields["audio"].startswith("0.50 h audio")
