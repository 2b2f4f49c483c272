"""Report files: names, modes, atomic writes, trace-event structure, re-rendering from JSON."""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from therapybridge.errors import OutputError
from therapybridge.perf import (
    PerformanceSession,
    PerfUsageError,
    Span,
    render_reports_from_json,
    render_trace,
    write_reports,
)
from therapybridge.perf.trace import assign_lanes

from .conftest import ROOT, assert_nested_per_track
from .test_logger import run_concurrent_pipeline, run_two_stage_pipeline


def test_write_reports_names_modes_and_contents(clock, tmp_path: Path):
    session = run_two_stage_pipeline(clock).session
    paths = write_reports(session, tmp_path / "out", "sample")
    assert [p.name for p in paths] == ["sample.perf.json", "sample.perf.txt", "sample.trace.json", "sample.perf.html"]
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temporary files left
    assert json.loads(paths[0].read_text())["metrics"]["total_duration"] == 1.0
    assert "PERFORMANCE SUMMARY" in paths[1].read_text()
    assert paths[3].read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(PerfUsageError, match="Unknown report format"):
        write_reports(session, tmp_path, "x", formats=("pdf",))


def test_write_reports_raises_output_error_when_directory_is_a_file(clock, tmp_path: Path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(OutputError, match="Cannot write performance reports"):
        write_reports(run_two_stage_pipeline(clock).session, blocker / "sub", "x")


def test_render_reports_from_json_rebuilds_the_other_formats(clock, tmp_path: Path):
    session = run_two_stage_pipeline(clock).session
    (json_path,) = write_reports(session, tmp_path, "rec", formats=("json",))
    paths = render_reports_from_json(json_path, tmp_path / "again")
    assert sorted(p.name for p in paths) == ["rec.perf.html", "rec.perf.txt", "rec.trace.json"]
    original = write_reports(session, tmp_path / "direct", "rec", formats=("txt",))[0].read_text()
    assert (tmp_path / "again" / "rec.perf.txt").read_text() == original


def test_trace_is_trace_event_json_with_consistent_nesting(clock, tmp_path: Path):
    session = run_two_stage_pipeline(clock).session
    (path,) = write_reports(session, tmp_path, "t", formats=("trace",))
    trace = json.loads(path.read_text())
    events = trace["traceEvents"]
    complete = [e for e in events if e["ph"] == "X"]
    assert len(complete) == len(session.spans)
    for event in complete:
        assert {"name", "cat", "ts", "dur", "pid", "tid"} <= set(event) and event["dur"] >= 0
    by_name = {e["name"]: e for e in complete}
    assert by_name["soxr"]["ts"] == 125_000.0 and by_name["soxr"]["dur"] == 150_000.0
    assert by_name["soxr"]["tid"] == by_name["resample"]["tid"] == by_name["TestPipeline"]["tid"]
    assert_nested_per_track(events)
    assert trace["otherData"]["gpu"].startswith("GPU monitoring was disabled")


def test_overlapping_stages_go_on_separate_tracks(clock):
    events = render_trace(run_concurrent_pipeline(clock))["traceEvents"]
    assert_nested_per_track(events)
    tid = {e["name"]: e["tid"] for e in events if e["ph"] == "X"}
    assert tid["Whisper Transcription"] != tid["Speaker Diarization"]
    assert tid["inference"] == tid["Whisper Transcription"] and tid["embeddings"] == tid["Speaker Diarization"]


def test_lane_layout_nests_arbitrary_overlapping_spans():
    rng = random.Random(7)
    spans = [Span(0, None, "root", "pipeline", 0, 10_000)]
    for i in range(1, 300):
        start = rng.randrange(0, 9_000)
        spans.append(Span(i, rng.randrange(0, i), f"s{i}", "subprocess", start, start + rng.randrange(0, 1_000)))
    lanes = assign_lanes(spans)
    events = [{"ph": "X", "pid": 1, "tid": lanes[s.id], "ts": s.start_ns, "dur": s.duration_ns, "name": s.name}
              for s in spans]
    assert_nested_per_track(events)


def test_trace_counters_come_from_samples():
    from therapybridge.perf import GPUStatus, Sample

    session = PerformanceSession(
        "id", "p", (Span(0, None, "p", "pipeline", 0, 2_000_000_000),),
        samples=(Sample(0, rss=100 * 1024 * 1024, gpu_util=40.0, gpu_mem_used=2 * 1024**3),
                 Sample(1_000_000_000, rss=120 * 1024 * 1024, gpu_util=60.0, gpu_allocated=1024**3)),
        gpu=GPUStatus(True, "cuda", "GPU: test card", ({"index": 0, "name": "test card", "backend": "cuda"},), True),
    )
    counters = [e for e in render_trace(session)["traceEvents"] if e["ph"] == "C"]
    assert [(e["name"], e["ts"], e["args"]) for e in counters] == [
        ("Process RSS (MB)", 0.0, {"rss": 100.0}),
        ("GPU utilization (%)", 0.0, {"utilization": 40.0}),
        ("GPU memory (MB)", 0.0, {"device_used": 2048.0}),
        ("Process RSS (MB)", 1_000_000.0, {"rss": 120.0}),
        ("GPU utilization (%)", 1_000_000.0, {"utilization": 60.0}),
        ("GPU memory (MB)", 1_000_000.0, {"allocated": 1024.0}),
    ]


SEED_BASIC_USAGE = '''
import time
from therapybridge.perf import PerformanceLogger

def detect_silence(audio):
    time.sleep(0.01)

audio = None

logger = PerformanceLogger(
    name="AudioPipeline",
    output_dir="outputs/performance_logs",
    enable_gpu_monitoring=True,
    verbose=True
)

logger.start_pipeline()

# Track a stage
logger.start_stage("Preprocessing")

# Track subprocesses
with logger.subprocess("silence_detection"):
    # Your code here
    detect_silence(audio)

logger.end_stage("Preprocessing")
logger.end_pipeline()
'''


def test_seed_basic_usage_runs_as_written(tmp_path: Path):
    result = subprocess.run([sys.executable, "-c", SEED_BASIC_USAGE], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # the library never prints; the console lines go to stderr through logging
    assert "[INFO] [Preprocessing] Stage started" in result.stderr
    assert "[DEBUG]   [silence_detection] completed in 0.01" in result.stderr
    written = sorted(p.name.split(".", 1)[1] for p in (tmp_path / "outputs" / "performance_logs").iterdir())
    assert written == ["perf.html", "perf.json", "perf.txt", "trace.json"]


def test_import_is_light():
    code = ("import sys, therapybridge.perf; "
            "heavy = [m for m in ('torch', 'numpy', 'pynvml') if m in sys.modules]; "
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_trace_marks_failures_with_instant_events(clock):
    from therapybridge.perf import PerformanceLogger

    perf = PerformanceLogger("p", verbose=False, enable_gpu_monitoring=False, sample_interval=None, clock=clock)
    with perf.stage("Speaker Diarization"):
        try:
            with perf.subprocess("clustering"):
                clock.advance_ms(3)
                raise ValueError("no speakers")
        except ValueError:
            pass
    events = render_trace(perf.end_pipeline())["traceEvents"]
    (instant,) = [e for e in events if e["ph"] == "i"]
    clustering = next(e for e in events if e["ph"] == "X" and e["name"] == "clustering")
    assert instant["name"] == "failed: clustering (ValueError)" and instant["ts"] == 3000.0
    assert instant["tid"] == clustering["tid"] and clustering["args"]["error"] == "ValueError"
    assert "no speakers" not in json.dumps(events)  # exception messages are never stored


def test_module_entry_point_rerenders_and_reports_bad_files(clock, tmp_path: Path):
    (json_path,) = write_reports(run_two_stage_pipeline(clock).session, tmp_path, "rec", formats=("json",))
    (tmp_path / "bad.perf.json").write_text("[]")
    result = subprocess.run(
        [sys.executable, "-m", "therapybridge.perf", str(json_path), str(tmp_path / "bad.perf.json"), "-o",
         str(tmp_path / "out"), "--format", "txt,html"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [str(tmp_path / "out" / "rec.perf.txt"), str(tmp_path / "out" / "rec.perf.html")]
    assert result.stderr.startswith("error: ") and "bad.perf.json" in result.stderr
