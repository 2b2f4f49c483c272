"""The profiler around a real stage: the project's audio preprocessing of the real 30 s sample."""

from __future__ import annotations

import jsonschema

from therapybridge import audio  # the project's own stage: an import error here is a failure, not a skip
from therapybridge.perf import PerformanceLogger, perf_schema, render_text, render_trace

from .conftest import ROOT, assert_nested_per_track

SAMPLE = ROOT / "tests" / "data" / "sample.wav"


def test_real_preprocessing_is_profiled_end_to_end():
    perf = PerformanceLogger("AudioTranscriptionPipeline", verbose=False, sample_interval=0.05, source="sample.wav")
    with perf:
        with perf.stage("Audio Preprocessing"):
            audio.preprocess(str(SAMPLE), device="cpu", profiler=perf)
    session = perf.session
    stage = session.metrics()["stages"]["Audio Preprocessing"]
    subprocesses = stage["subprocesses"]
    assert len(subprocesses) >= 3
    assert "load_audio" in subprocesses
    assert sum(entry["duration"] for entry in subprocesses.values()) <= stage["duration"]
    assert sum(entry["percent_of_parent"] for entry in subprocesses.values()) <= 100.0 + 1e-6
    assert all(entry["duration"] > 0 for entry in subprocesses.values())
    assert stage["memory"]["rss_peak_mb"] >= stage["memory"]["rss_before_mb"] > 0
    assert stage["cpu"]["cpu_seconds"] > 0
    jsonschema.Draft202012Validator(perf_schema()).validate(session.to_dict())
    assert_nested_per_track(render_trace(session)["traceEvents"])
    text = render_text(session)
    assert "    - load_audio" in text and "Source: sample.wav" in text
