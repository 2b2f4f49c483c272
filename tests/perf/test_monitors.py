"""GPUMonitor: the sampler thread, the no-GPU statement, and GPU figures per stage."""

from __future__ import annotations

import threading
import time

import pytest

from therapybridge.perf import GPUMonitor, GPUStatus, PerformanceLogger, detect_gpu, render_html, render_text
from therapybridge.perf.monitors import _CudaProbe

from .conftest import make_logger


def test_sampler_thread_samples_at_its_interval():
    monitor = GPUMonitor(0.05, enable_gpu=False)
    monitor.start()
    assert monitor.running
    time.sleep(0.3)
    monitor.stop()
    assert not monitor.running
    assert not [t for t in threading.enumerate() if t.name == "therapybridge-perf-sampler"]
    samples = monitor.samples()
    assert 3 <= len(samples) <= 10
    assert all(s.rss and s.rss > 0 for s in samples)
    assert all(s.gpu_util is None and s.gpu_mem_used is None and s.gpu_allocated is None for s in samples)
    assert [s.t_ns for s in samples] == sorted(s.t_ns for s in samples)


def test_stop_wakes_the_sampler_at_once():
    monitor = GPUMonitor(30.0, enable_gpu=False).start()
    time.sleep(0.05)
    started = time.perf_counter()
    monitor.stop()
    assert time.perf_counter() - started < 5.0  # the Event, not the 30 s interval, ends the thread
    assert len(monitor.samples()) == 1  # the first sample is taken at start


def test_without_a_gpu_every_report_says_so_and_records_nothing():
    probe = detect_gpu(True)
    if probe.status.present:
        pytest.skip(f"this machine has a GPU ({probe.status.note}); the no-GPU statement cannot be checked here")
    perf = PerformanceLogger("cpu-only", verbose=False, sample_interval=0.02)
    with perf:
        with perf.stage("Whisper Transcription"):
            time.sleep(0.08)
    session = perf.session
    statement = session.gpu.statement
    assert statement.startswith("No GPU present") and "no GPU figures were recorded" in statement
    assert session.gpu.present is False and session.gpu.backend == "none"
    assert statement in render_text(session)
    assert "    GPU: none present" in render_text(session)
    assert statement in render_html(session)
    document = session.to_dict()
    assert document["gpu"]["present"] is False
    assert document["metrics"]["gpu"]["note"] == statement
    stats = document["metrics"]["stages"]["Whisper Transcription"]["gpu_stats"]
    assert stats == {"available": False, "backend": "none", "note": statement}
    assert document["system_info"]["cuda_available"] is False and document["system_info"]["devices"] == []
    assert all(s["gpu_util"] is None and s["gpu_mem_used"] is None for s in document["samples"])


def test_disabled_monitoring_does_not_claim_there_is_no_gpu(clock):
    perf = make_logger(clock, enable_gpu_monitoring=False)
    perf.start_pipeline()
    assert perf.end_pipeline().gpu == GPUStatus(
        None, "disabled", "GPU monitoring was disabled; no GPU figures were recorded.")


class _NvmlOnThisCard:
    """Stands in for the NVML library (it cannot run on a machine without an NVIDIA driver): it replays a
    fixed series of utilization and memory readings, so the per-stage aggregation can be checked exactly."""

    class _Util:
        def __init__(self, gpu: int) -> None:
            self.gpu = gpu

    class _Memory:
        def __init__(self, used: int) -> None:
            self.used = used

    def __init__(self, readings: list[tuple[int, int]]) -> None:
        self._readings = iter(readings)
        self._current = (0, 0)

    def nvmlDeviceGetUtilizationRates(self, handle):  # noqa: N802 - NVML's names
        self._current = next(self._readings)
        return self._Util(self._current[0])

    def nvmlDeviceGetMemoryInfo(self, handle):  # noqa: N802
        return self._Memory(self._current[1])

    def nvmlShutdown(self):  # noqa: N802
        pass


def test_cuda_figures_are_aggregated_per_stage(clock):
    mib = 1024 * 1024
    nvml = _NvmlOnThisCard([(10, 100 * mib), (90, 900 * mib), (70, 700 * mib), (5, 50 * mib)])
    status = GPUStatus(True, "cuda", "GPU: Test Card (CUDA, NVML utilization).",
                       ({"index": 0, "name": "Test Card", "backend": "cuda", "memory_total": 8 * 1024 * mib},), True)
    monitor = GPUMonitor(None, clock=clock, probe=_CudaProbe(status, nvml, object(), None, None))
    perf = make_logger(clock, monitor=monitor)
    perf.start_pipeline()
    with perf.stage("Audio Preprocessing"):
        monitor.sample_now()
        clock.advance_ms(100)
    with perf.stage("Whisper Transcription"):
        clock.advance_ms(50)
        monitor.sample_now()
        clock.advance_ms(50)
        monitor.sample_now()
        clock.advance_ms(50)
    clock.advance_ms(10)
    monitor.sample_now()
    session = perf.end_pipeline()
    stages = session.metrics()["stages"]
    pre, asr = stages["Audio Preprocessing"]["gpu_stats"], stages["Whisper Transcription"]["gpu_stats"]
    assert (pre["samples"], pre["utilization_mean"], pre["memory_used_max_mb"]) == (1, 10.0, 100.0)
    assert (asr["samples"], asr["utilization_mean"], asr["utilization_max"], asr["memory_used_max_mb"]) == (
        2, 80.0, 90.0, 900.0)
    assert asr["device"] == "Test Card" and asr["allocated_max_mb"] is None  # no torch: nothing made up
    text = render_text(session)
    assert "    GPU: cuda (Test Card) - Util: 80.0% (max 90.0%) Mem: 900.0MB\n" in text
    assert "GPU: Test Card (CUDA, NVML utilization)." in text
    html = render_html(session)
    assert "GPU utilization" in html and "GPU memory" in html


def test_fast_rss_reading_matches_psutil():
    import psutil

    from therapybridge.perf import ProcessStats

    stats = ProcessStats()
    block = bytearray(48 * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])
    ours, theirs = stats.rss(), psutil.Process().memory_info().rss
    assert abs(ours - theirs) < 2 * 1024 * 1024
    assert ours > 48 * 1024 * 1024
    del block


class _RecordingCudaProbe(_CudaProbe):
    """The CUDA probe's stage-boundary calls recorded instead of sent to a CUDA runtime this machine lacks."""

    def __init__(self, status: GPUStatus) -> None:
        super().__init__(status, None, None, None, None)
        self.calls: list[str] = []
        self.peak = 0

    def synchronize(self) -> None:
        self.calls.append("synchronize")

    def reset_peak(self) -> None:
        self.calls.append("reset_peak")
        self.peak = 0

    def peak_allocated(self) -> int | None:
        self.calls.append("peak_allocated")
        self.peak += 256 * 1024 * 1024
        return self.peak


def test_cuda_stage_boundaries_synchronize_and_reset_the_peak(clock):
    status = GPUStatus(True, "cuda", "GPU: Test Card (CUDA).", ({"index": 0, "name": "Test Card", "backend": "cuda"},))
    probe = _RecordingCudaProbe(status)
    perf = make_logger(clock, monitor=GPUMonitor(None, clock=clock, probe=probe), sync_cuda=True)
    with perf.stage("Whisper Transcription"):
        clock.advance_ms(10)
    with perf.stage("Speaker Diarization"):
        clock.advance_ms(10)
    session = perf.end_pipeline()
    assert probe.calls == ["synchronize", "reset_peak", "synchronize", "peak_allocated"] * 2
    stats = session.metrics()["stages"]["Speaker Diarization"]["gpu_stats"]
    assert stats["torch_peak_allocated_mb"] == 256.0 and stats["utilization_mean"] is None
