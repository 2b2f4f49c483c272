"""Shared helpers for the perf tests: a hand-driven clock and checks used by several test files."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest

from therapybridge.perf import PerformanceLogger

ROOT = Path(__file__).resolve().parents[2]
MS = 1_000_000


class FakeClock:
    """Integer-nanosecond clock that only moves when told to (reads never advance it)."""

    def __init__(self) -> None:
        self.now = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        return self.now

    def advance_ms(self, ms: float) -> None:
        with self._lock:
            self.now += int(round(ms * MS))

    def set_ms(self, ms: float) -> None:
        with self._lock:
            self.now = int(round(ms * MS))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_logger(clock: FakeClock, **kwargs) -> PerformanceLogger:
    """A logger on the fake clock, without the sampler thread (samples would land at arbitrary fake times)."""
    options = {"verbose": False, "enable_gpu_monitoring": False, "sample_interval": None}
    options.update(kwargs)
    return PerformanceLogger("TestPipeline", clock=clock, **options)


def artifacts_dir() -> Path:
    """Where tests leave files for people to look at (screenshots); override with THERAPYBRIDGE_TEST_ARTIFACTS."""
    path = Path(os.environ.get("THERAPYBRIDGE_TEST_ARTIFACTS", ROOT / "tests" / ".generated" / "artifacts")) / "perf"
    path.mkdir(parents=True, exist_ok=True)
    return path


def assert_nested_per_track(events: Iterable[dict]) -> None:
    """Complete events on one (pid, tid) track must be disjoint or strictly nested, as trace viewers require."""
    tracks: dict[tuple, list[dict]] = {}
    for event in events:
        if event.get("ph") == "X":
            tracks.setdefault((event["pid"], event["tid"]), []).append(event)
    for track, spans in tracks.items():
        open_stack: list[tuple[float, float, str]] = []
        for event in sorted(spans, key=lambda e: (e["ts"], -e["dur"])):
            start, end = event["ts"], event["ts"] + event["dur"]
            while open_stack and open_stack[-1][1] <= start + 1e-6:
                open_stack.pop()
            if open_stack:
                outer_start, outer_end, outer_name = open_stack[-1]
                assert outer_start <= start + 1e-6 and end <= outer_end + 1e-6, (
                    f"{event['name']} [{start}, {end}] partially overlaps {outer_name} [{outer_start}, {outer_end}] "
                    f"on track {track}"
                )
            open_stack.append((start, end, event["name"]))
