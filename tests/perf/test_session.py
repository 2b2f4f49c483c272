"""PerformanceSession: JSON schema, round trip, combine, redaction, sanitised metadata."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from therapybridge.perf import (
    PerfFormatError,
    PerformanceLogger,
    PerformanceSession,
    hash_path,
    perf_schema,
    render_text,
    sanitize_metadata,
)

from .conftest import make_logger
from .test_logger import run_two_stage_pipeline


def validate(document: dict) -> None:
    jsonschema.Draft202012Validator(perf_schema()).validate(document)


def test_schema_is_valid_and_requires_the_issue_fields():
    schema = perf_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert {"session_id", "pipeline_name", "metrics", "system_info"} <= set(schema["required"])
    stage = schema["$defs"]["stage"]["required"]
    assert {"duration", "start", "subprocesses", "gpu_stats", "memory"} <= set(stage)
    assert {"duration", "count", "metadata"} <= set(schema["$defs"]["subprocess"]["required"])
    assert set(schema["properties"]["system_info"]["required"]) == {
        "python_version", "torch_version", "cuda_available", "mps_available", "devices", "cpu_count", "memory_total"}


def test_fake_clock_session_validates_and_round_trips(clock, tmp_path: Path):
    session = run_two_stage_pipeline(clock).session
    document = session.to_dict()
    validate(document)
    assert document["metrics"]["stages"]["Audio Preprocessing"]["subprocesses"]["load_audio"]["duration"] == 0.1
    path = tmp_path / "x.perf.json"
    path.write_text(session.to_json())
    loaded = PerformanceSession.load(path)
    assert loaded.to_dict() == json.loads(session.to_json())
    assert render_text(loaded) == render_text(session)


def test_real_run_with_sampler_validates():
    perf = PerformanceLogger("real", verbose=False, sample_interval=0.02)
    with perf:
        with perf.stage("Audio Preprocessing"):
            with perf.subprocess("work", path="/clients/jane-doe/session 3.wav", shape=(2, 3)):
                sum(range(200_000))
                import time

                time.sleep(0.1)
    document = perf.session.to_dict()
    validate(document)
    assert len(document["samples"]) >= 3
    assert all(sample["rss"] > 0 for sample in document["samples"])
    info = document["system_info"]
    assert info["cpu_count"] >= 1 and info["memory_total"] > 0 and info["python_version"]


def test_combine_lays_files_on_one_clock_and_adds_stages(clock):
    first = run_two_stage_pipeline(clock, source="a.wav").session
    second = run_two_stage_pipeline(clock, source="b.wav").session
    first = replace(first, started_at_epoch=1000.0)
    second = replace(second, started_at_epoch=1001.5)
    batch = PerformanceSession.combine([second, first], pipeline_name="batch")
    metrics = batch.metrics()
    assert metrics["total_duration"] == 2.5  # 1.0 s file, 0.5 s gap, 1.0 s file
    pre = metrics["stages"]["Audio Preprocessing"]
    assert (pre["duration"], pre["count"], pre["percent_of_total"]) == (0.8, 2, 32.0)
    assert pre["subprocesses"]["load_audio"]["count"] == 2
    assert metrics["concurrency"]["stages_overlap"] is False
    assert [s["source"] for s in batch.sources] == ["a.wav", "b.wav"]
    files = [s for s in batch.spans if s.kind == "file"]
    assert [(f.name, f.start_ns, f.end_ns) for f in files] == [
        ("a.wav", 0, 1_000_000_000), ("b.wav", 1_500_000_000, 2_500_000_000)]
    validate(batch.to_dict())
    assert "Files: 2 (combined batch report)" in render_text(batch)


def test_redact_paths_hashes_file_names_everywhere(clock):
    perf = make_logger(clock, redact_paths=True, source="/home/therapist/clients/Jane Doe.m4a")
    with perf.stage("Audio Preprocessing"):
        with perf.subprocess("load_audio", path="/home/therapist/clients/Jane Doe.m4a", sample_rate=16000):
            clock.advance_ms(1)
    session = perf.end_pipeline()
    text = session.to_json()
    assert "Jane" not in text and "therapist" not in text
    assert session.source == hash_path("Jane Doe.m4a") and session.source.endswith(".m4a")
    load = session.metrics()["stages"]["Audio Preprocessing"]["subprocesses"]["load_audio"]["metadata"]
    assert load == {"path": hash_path("Jane Doe.m4a"), "sample_rate": 16000}


def test_metadata_never_reveals_unknown_objects():
    class Buffer:
        def __repr__(self) -> str:  # pragma: no cover - must never be called
            return "the client said something private"

    clean = sanitize_metadata({"buffer": Buffer(), "path": Path("/x/y.wav"), "n": 3, "nested": {"b": Buffer()}})
    assert clean == {"buffer": "<Buffer>", "path": "/x/y.wav", "n": 3, "nested": {"b": "<Buffer>"}}


def test_load_rejects_files_that_are_not_reports(tmp_path: Path):
    bad = tmp_path / "bad.perf.json"
    bad.write_text("{not json")
    with pytest.raises(PerfFormatError, match="not valid JSON"):
        PerformanceSession.load(bad)
    bad.write_text(json.dumps({"segments": []}))
    with pytest.raises(PerfFormatError, match="Not a therapybridge performance report"):
        PerformanceSession.load(bad)
    with pytest.raises(PerfFormatError, match="Cannot read"):
        PerformanceSession.load(tmp_path / "missing.perf.json")
