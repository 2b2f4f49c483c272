"""``process_many``: the prefetch thread stops when the caller does, and each file reports its own time.

Recognition is replaced by a timed stand-in so the tests measure the batch machinery, not Whisper.
"""

from __future__ import annotations

import math
import shutil
import threading
import time

import pytest

from therapybridge import AudioTranscriptionPipeline
from therapybridge.asr.base import ASRResult
from therapybridge.pipeline import STAGE_ASR
from tests.references import SAMPLE_WAV

RECOGNITION_S = 1.5


@pytest.fixture
def batch(tmp_path):
    """A CPU pipeline, diarization off, whose recognition takes RECOGNITION_S; and four copies of the sample."""
    pipeline = AudioTranscriptionPipeline(device="cpu", enable_diarization=False)
    started = []

    def recognise(audio, config, perf):
        started.append(time.perf_counter())
        with perf.stage(STAGE_ASR):
            time.sleep(RECOGNITION_S)
        return ASRResult(segments=(), language="en"), ()

    pipeline._recognise = recognise
    pipeline.models.warm = lambda enable_diarization: None
    files = []
    for index in range(4):
        files.append(tmp_path / f"session-{index}.wav")
        shutil.copy(SAMPLE_WAV, files[-1])
    return pipeline, files, started


def _batch_threads() -> list[threading.Thread]:
    """Threads a batch leaves behind: its prefetch and the sampler threads of its performance loggers."""
    return [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]


def _wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("how", ["close", "break"])
def test_stopping_early_stops_the_prefetch_and_frees_its_audio(batch, how):
    pipeline, files, _ = batch
    before = set(_batch_threads())
    items = pipeline.process_many(files)
    first = next(items)
    assert first.ok, first.error
    # The second file is decoded and queued, the third decoded and blocked on the full queue.
    assert _wait_until(lambda: set(_batch_threads()) - before)
    time.sleep(1.5)
    if how == "close":
        items.close()
    else:
        for _ in items:
            break
        del items
    assert _wait_until(lambda: not (set(_batch_threads()) - before)), [
        t.name for t in set(_batch_threads()) - before
    ]


def test_each_file_reports_its_own_time_and_its_queue_wait_apart(batch):
    pipeline, files, _ = batch
    results = []
    for item in pipeline.process_many(files[:3]):
        assert item.ok, item.error
        results.append(item.transcript.performance_metrics)
    for index, metrics in enumerate(results):
        own = sum(stage["duration"] for stage in metrics["stages"].values())
        total = metrics["total_duration"]
        assert math.isfinite(total) and own <= total <= own + 0.3, (index, metrics["stages"], total)
    waits = [metrics["queue_wait"] for metrics in results]
    assert waits[0] < 0.2, waits
    # Each later file was decoded while an earlier one was recognised, then queued until the consumer took it.
    assert all(0.4 * RECOGNITION_S <= wait <= 3 * RECOGNITION_S for wait in waits[1:]), waits
