"""PerformanceLogger on a hand-driven clock: hierarchy, exact durations and percentages, errors, threads."""

from __future__ import annotations

import io
import logging
import mmap
import re
import threading
import time

import pytest

from therapybridge.perf import (
    NULL_PROFILER,
    PerfConsoleFormatter,
    PerformanceLogger,
    PerfUsageError,
    StageProfiler,
    render_text,
)

from .conftest import FakeClock, make_logger


def run_two_stage_pipeline(clock: FakeClock, **kwargs) -> PerformanceLogger:
    """Audio Preprocessing 0-400 ms (load 100, resample 200 with soxr 150 inside, 100 ms untracked),
    Whisper Transcription 400-1000 ms (model_loading 250, inference 2 x 150)."""
    perf = make_logger(clock, **kwargs)
    perf.start_pipeline()
    perf.start_stage("Audio Preprocessing")
    with perf.subprocess("load_audio", path="session.mp3", sample_rate=44100):
        clock.advance_ms(100)
    with perf.subprocess("resample", target=16000):
        clock.advance_ms(25)
        with perf.subprocess("soxr"):
            clock.advance_ms(150)
        clock.advance_ms(25)
    clock.advance_ms(100)
    perf.end_stage("Audio Preprocessing")
    with perf.stage("Whisper Transcription"):
        with perf.subprocess("model_loading", model="base"):
            clock.advance_ms(250)
        for chunk in range(2):
            with perf.subprocess("inference", chunk=chunk):
                clock.advance_ms(150)
        clock.advance_ms(50)
    perf.end_pipeline()
    return perf


def test_hierarchy_durations_and_percentages_are_exact(clock):
    session = run_two_stage_pipeline(clock).session
    metrics = session.metrics()
    assert metrics["total_duration"] == 1.0
    pre = metrics["stages"]["Audio Preprocessing"]
    asr = metrics["stages"]["Whisper Transcription"]
    assert list(metrics["stages"]) == ["Audio Preprocessing", "Whisper Transcription"]
    assert (pre["start"], pre["duration"], pre["percent_of_total"]) == (0.0, 0.4, 40.0)
    assert (asr["start"], asr["duration"], asr["percent_of_total"]) == (0.4, 0.6, 60.0)
    subs = pre["subprocesses"]
    assert list(subs) == ["load_audio", "resample"]
    assert subs["load_audio"]["duration"] == 0.1 and subs["load_audio"]["percent_of_parent"] == 25.0
    assert subs["load_audio"]["metadata"] == {"path": "session.mp3", "sample_rate": 44100}
    assert subs["resample"]["duration"] == 0.2 and subs["resample"]["percent_of_parent"] == 50.0
    soxr = subs["resample"]["subprocesses"]["soxr"]
    assert (soxr["duration"], soxr["count"], soxr["percent_of_parent"], soxr["start"]) == (0.15, 1, 75.0, 0.125)
    inference = asr["subprocesses"]["inference"]
    assert (inference["duration"], inference["count"], inference["average"]) == (0.3, 2, 0.15)
    assert inference["percent_of_parent"] == 50.0
    assert inference["metadata"] == {"chunk": [0, 1]}  # differing values across calls are kept as a list
    assert asr["subprocesses"]["model_loading"]["percent_of_parent"] == pytest.approx(41.666667)
    top = metrics["top_subprocesses"]
    assert [(t["name"], t["total"], t["count"]) for t in top[:3]] == [
        ("inference", 0.3, 2), ("model_loading", 0.25, 1), ("resample", 0.2, 1)]
    assert metrics["concurrency"]["stages_overlap"] is False
    assert metrics["concurrency"]["critical_path"] == ["Audio Preprocessing", "Whisper Transcription"]
    spans = {s.name: s for s in session.spans}
    assert spans["soxr"].parent == spans["resample"].id
    assert spans["resample"].parent == spans["Audio Preprocessing"].id
    assert spans["Audio Preprocessing"].parent == session.root.id


def test_text_report_has_seed_layout_with_exact_figures(clock):
    text = render_text(run_two_stage_pipeline(clock).session)
    assert text.startswith("PERFORMANCE SUMMARY\n==================\n")
    assert "Total Time: 1.00s" in text
    assert "  Audio Preprocessing       0.40s (40.0%)" in text  # Stage Timings
    assert "\nStage Breakdown:\n----------------------------------------\n" in text
    # The seed's columns: figures start at column 36 whatever the depth.
    assert "  Audio Preprocessing".ljust(36) + "0.400s ( 40.0%)\n" in text
    assert "    - load_audio".ljust(36) + "0.100s ( 25.0%)\n" in text
    assert "      - soxr".ljust(36) + "0.150s ( 75.0%)\n" in text
    assert "    - inference x2".ljust(36) + "0.300s ( 50.0%)\n" in text
    assert "    GPU: not monitored\n" in text
    assert "  inference                      Total: 0.300s Count: 2 Avg: 0.150s\n" in text
    assert "Top Subprocess Timings:\n" in text


def test_console_lines_use_seed_format(clock):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(PerfConsoleFormatter())
    perf_log = logging.getLogger("therapybridge.perf")
    old_level = perf_log.level
    perf_log.addHandler(handler)
    perf_log.setLevel(logging.DEBUG)
    try:
        perf = make_logger(clock)
        perf.start_stage("Audio Preprocessing")
        with perf.subprocess("load_audio"):
            clock.advance_ms(105)
        clock.advance_ms(520)
        perf.end_stage("Audio Preprocessing")
        perf.end_pipeline()
    finally:
        perf_log.removeHandler(handler)
        perf_log.setLevel(old_level)
    lines = stream.getvalue().splitlines()
    stamp = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] "
    assert any(re.fullmatch(stamp + r"\[INFO\] \[Audio Preprocessing\] Stage started", line) for line in lines)
    assert any(re.fullmatch(stamp + r"\[DEBUG\]   \[load_audio\] completed in 0\.105s", line) for line in lines)
    assert any(re.fullmatch(stamp + r"\[INFO\] \[Audio Preprocessing\] Stage completed in 0\.625s", line) for line in lines)
    assert "PERFORMANCE SUMMARY" in lines  # the summary block is written without a prefix
    text = render_text(perf.session)
    assert "  Audio Preprocessing               0.625s (100.0%)\n" in text  # character for character as the seed
    assert "    - load_audio                    0.105s ( 16.8%)\n" in text


def test_exception_in_subprocess_is_recorded_reraised_and_timer_closed(clock):
    perf = make_logger(clock)
    perf.start_stage("Speaker Diarization")
    with pytest.raises(ZeroDivisionError):
        with perf.subprocess("clustering", n=3):
            clock.advance_ms(40)
            1 / 0
    with perf.subprocess("after"):  # the failed span was popped: this one nests under the stage again
        clock.advance_ms(10)
    with pytest.raises(KeyError):
        with perf.stage("Speaker Alignment"):
            clock.advance_ms(5)
            raise KeyError("x")
    perf.end_stage("Speaker Diarization")
    session = perf.end_pipeline()
    spans = {s.name: s for s in session.spans}
    assert spans["clustering"].error == "ZeroDivisionError"
    assert spans["clustering"].duration_ns == 40_000_000
    assert spans["after"].parent == spans["Speaker Diarization"].id
    assert spans["Speaker Alignment"].error == "KeyError"
    metrics = session.metrics()
    assert metrics["stages"]["Speaker Diarization"]["subprocesses"]["clustering"]["errors"] == ["ZeroDivisionError"]
    assert metrics["stages"]["Speaker Alignment"]["errors"] == ["KeyError"]
    assert "clustering [failed: ZeroDivisionError]" in render_text(session)


def run_concurrent_pipeline(clock: FakeClock):
    """Transcription 100-700 ms and diarization 200-900 ms in two threads, then alignment 900-1000 ms."""
    perf = make_logger(clock)
    perf.start_pipeline()
    gates = {name: (threading.Event(), threading.Event()) for name in ("asr", "diar")}

    def stage_worker(gate: str, stage: str, step: str) -> None:
        started, release = gates[gate]
        with perf.stage(stage):
            with perf.subprocess(step):
                started.set()
                release.wait(10)

    asr = threading.Thread(target=stage_worker, args=("asr", "Whisper Transcription", "inference"))
    diar = threading.Thread(target=stage_worker, args=("diar", "Speaker Diarization", "embeddings"))
    clock.set_ms(100)
    asr.start()
    gates["asr"][0].wait(10)
    clock.set_ms(200)
    diar.start()
    gates["diar"][0].wait(10)
    clock.set_ms(700)
    gates["asr"][1].set()
    asr.join(10)
    clock.set_ms(900)
    gates["diar"][1].set()
    diar.join(10)
    with perf.stage("Speaker Alignment"):
        clock.set_ms(1000)
    return perf.end_pipeline()


def test_concurrent_stages_in_threads_report_overlap_and_critical_path(clock):
    session = run_concurrent_pipeline(clock)
    spans = {s.name: s for s in session.spans}
    assert spans["inference"].parent == spans["Whisper Transcription"].id
    assert spans["embeddings"].parent == spans["Speaker Diarization"].id
    assert spans["inference"].thread != spans["embeddings"].thread
    concurrency = session.metrics()["concurrency"]
    assert concurrency["stages_overlap"] is True
    assert concurrency["overlaps"] == [{"stages": ["Whisper Transcription", "Speaker Diarization"], "seconds": 0.5}]
    assert concurrency["sum_percent_of_total"] == 140.0
    assert concurrency["critical_path"] == ["Speaker Diarization", "Speaker Alignment"]
    assert concurrency["critical_path_duration"] == 0.8
    text = render_text(session)
    assert "Stages overlap (ran concurrently): Whisper Transcription & Speaker Diarization for 0.500s." in text
    assert "Critical path: Speaker Diarization -> Speaker Alignment = 0.800s (80.0% of total)" in text


def test_worker_thread_without_open_span_nests_under_latest_stage(clock):
    perf = make_logger(clock)
    with perf.stage("Whisper Transcription"):
        def work() -> None:
            with perf.subprocess("decode_batch"):
                clock.advance_ms(30)
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    session = perf.end_pipeline()
    spans = {s.name: s for s in session.spans}
    assert spans["decode_batch"].parent == spans["Whisper Transcription"].id


def test_many_threads_record_every_span_with_the_right_parent():
    perf = PerformanceLogger("stress", verbose=False, enable_gpu_monitoring=False, sample_interval=None)
    perf.start_pipeline()
    stage_names = [f"stage {i}" for i in range(4)]

    def worker(stage: str) -> None:
        with perf.stage(stage):
            for _ in range(200):
                with perf.subprocess("outer"):
                    with perf.subprocess("inner"):
                        pass

    threads = [threading.Thread(target=worker, args=(name,)) for name in stage_names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session = perf.end_pipeline()
    by_id = {s.id: s for s in session.spans}
    assert len(session.spans) == 1 + 4 + 4 * 400
    for span in session.spans:
        if span.name == "inner":
            assert by_id[span.parent].name == "outer" and by_id[span.parent].thread == span.thread
        if span.name == "outer":
            assert by_id[span.parent].kind == "stage" and by_id[span.parent].thread == span.thread
        assert span.error is None and span.end_ns >= span.start_ns
    metrics = session.metrics()
    for name in stage_names:
        outer = metrics["stages"][name]["subprocesses"]["outer"]
        assert outer["count"] == 200 and outer["subprocesses"]["inner"]["count"] == 200
    assert metrics["overhead"]["events"] == 4 * 2 + 4 * 400 * 2


def test_bookkeeping_time_is_measured_on_the_real_clock(clock):
    perf = make_logger(clock, track_memory=True)
    with perf.stage("Writing Outputs"):
        for _ in range(10):
            with perf.subprocess("write"):
                clock.advance_ms(1)
    session = perf.end_pipeline()
    overhead = session.metrics()["overhead"]
    assert overhead["events"] == 2 + 20
    assert 0 < overhead["bookkeeping_seconds"] < 0.5
    assert session.metrics()["total_duration"] == 0.01  # fake-clock durations are untouched by the bookkeeping


def test_memory_and_cpu_figures_are_recorded_per_span():
    perf = PerformanceLogger("mem", verbose=False, enable_gpu_monitoring=False, sample_interval=None)
    with perf:
        with perf.stage("Audio Preprocessing"):
            with perf.subprocess("allocate"):
                # Fresh anonymous pages: a malloc'd block could reuse heap memory a previous test freed, which is
                # already resident, and RSS would not move.
                block = mmap.mmap(-1, 64 * 1024 * 1024)
                for offset in range(0, len(block), 4096):  # touch every page so it counts in RSS
                    block[offset] = 1
                deadline = time.process_time() + 0.05
                while time.process_time() < deadline:
                    pass
            block.close()
    session = perf.session
    allocate = next(s for s in session.spans if s.name == "allocate")
    assert allocate.rss_after - allocate.rss_before >= 60 * 1024 * 1024
    assert allocate.cpu_ns >= 40_000_000
    memory = session.metrics()["stages"]["Audio Preprocessing"]["subprocesses"]["allocate"]["memory"]
    assert memory["rss_peak_mb"] >= memory["rss_before_mb"] + 60
    cpu = session.metrics()["stages"]["Audio Preprocessing"]["cpu"]
    assert cpu["cpu_seconds"] >= 0.04 and cpu["utilization_percent"] > 0


def test_misuse_raises_typed_errors(clock):
    perf = make_logger(clock)
    with pytest.raises(PerfUsageError):
        perf.end_pipeline()
    perf.start_stage("Audio Preprocessing")
    with pytest.raises(PerfUsageError, match="already running"):
        perf.start_stage("Audio Preprocessing")
    with pytest.raises(PerfUsageError, match="no matching start_stage"):
        perf.end_stage("Speaker Alignment")
    session = perf.end_pipeline()  # closes the open stage
    assert [s.name for s in session.stage_spans()] == ["Audio Preprocessing"]
    with pytest.raises(PerfUsageError):
        perf.start_stage("Whisper Transcription")


def test_logger_is_a_stage_profiler_like_the_null_default(clock):
    def stage_function(profiler: StageProfiler = NULL_PROFILER) -> int:
        with profiler.subprocess("model_loading", model="tiny.en"):
            clock.advance_ms(7)
        return 1

    assert stage_function() == 1
    perf = make_logger(clock)
    with perf.stage("Whisper Transcription"):
        assert stage_function(perf) == 1
    metrics = perf.end_pipeline().metrics()
    assert metrics["stages"]["Whisper Transcription"]["subprocesses"]["model_loading"]["duration"] == 0.007


def test_span_handle_takes_metadata_known_later(clock):
    perf = make_logger(clock)
    with perf.stage("Whisper Transcription"):
        with perf.subprocess("inference") as span:
            clock.advance_ms(3)
            span.set(segments=12, device=None)
    metrics = perf.end_pipeline().metrics()
    assert metrics["stages"]["Whisper Transcription"]["subprocesses"]["inference"]["metadata"] == {
        "segments": 12, "device": None}


def test_verbose_prints_to_stderr_only_during_its_own_run(clock, capsys):
    loud = make_logger(clock, verbose=True)
    with loud.stage("Audio Preprocessing"):
        with loud.subprocess("load_audio"):
            clock.advance_ms(105)
    loud.end_pipeline()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "[INFO] [Audio Preprocessing] Stage started" in captured.err
    assert "[DEBUG]   [load_audio] completed in 0.105s" in captured.err
    assert "PERFORMANCE SUMMARY" in captured.err
    quiet = make_logger(clock)
    with quiet.stage("Speaker Alignment"):
        clock.advance_ms(1)
    quiet.end_pipeline()
    assert capsys.readouterr().err == ""
    assert logging.getLogger("therapybridge.perf").handlers == []


def test_snapshot_mid_run_cuts_open_spans_without_marking_them_failed(clock):
    perf = make_logger(clock)
    with perf.stage("Whisper Transcription"):
        clock.advance_ms(300)
    perf.start_stage("Writing Outputs")
    with perf.subprocess("write_json"):
        clock.advance_ms(20)
        snapshot = perf.snapshot().metrics()
    clock.advance_ms(80)
    perf.end_stage("Writing Outputs")
    final = perf.end_pipeline().metrics()
    assert snapshot["total_duration"] == 0.32
    assert snapshot["stages"]["Writing Outputs"]["duration"] == 0.02
    assert "errors" not in snapshot["stages"]["Writing Outputs"]
    assert final["total_duration"] == 0.4 and final["stages"]["Writing Outputs"]["duration"] == 0.1


def test_span_left_open_in_another_thread_is_marked_unfinished(clock):
    perf = make_logger(clock)
    perf.start_pipeline()
    entered, release = threading.Event(), threading.Event()

    def straggler() -> None:
        with perf.subprocess("late_worker"):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=straggler)
    thread.start()
    entered.wait(10)
    clock.advance_ms(50)
    session = perf.end_pipeline()
    release.set()
    thread.join()
    late = next(s for s in session.spans if s.name == "late_worker")
    assert late.error == "unfinished" and late.duration_ns == 50_000_000
