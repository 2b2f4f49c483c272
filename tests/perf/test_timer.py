"""PerformanceTimer: exact durations on a fake clock, a fresh context per call, recursion and threads."""

from __future__ import annotations

import threading
import time

from therapybridge.perf import PerformanceTimer

from .conftest import FakeClock


def test_context_manager_measures_exactly(clock: FakeClock):
    timer = PerformanceTimer("block", clock=clock)
    assert timer.duration is None
    with timer as run:
        clock.advance_ms(125)
    assert run.duration == 0.125 and run.duration_ns == 125_000_000
    assert timer.duration == 0.125 and timer.last is run


def test_decorator_and_recursion_get_one_run_each(clock: FakeClock):
    runs = []
    timer = PerformanceTimer("fib", clock=clock, on_exit=runs.append)

    @timer
    def countdown(n: int) -> int:
        clock.advance_ms(10)
        return 0 if n == 0 else 1 + countdown(n - 1)

    assert countdown(3) == 3
    # innermost finishes first: it saw only its own 10 ms; each outer level adds 10 ms
    assert [r.duration_ns for r in runs] == [10_000_000, 20_000_000, 30_000_000, 40_000_000]
    assert len({id(r) for r in runs}) == 4
    assert countdown.__name__ == "countdown"


def test_exception_still_closes_the_run(clock: FakeClock):
    timer = PerformanceTimer("fails", clock=clock)
    try:
        with timer as run:
            clock.advance_ms(5)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert run.duration == 0.005


def test_one_timer_shared_by_threads_keeps_runs_apart():
    runs = []
    lock = threading.Lock()

    def keep(run):
        with lock:
            runs.append(run)

    timer = PerformanceTimer("shared", on_exit=keep)
    barrier = threading.Barrier(4)

    def work(seconds: float) -> None:
        barrier.wait()
        with timer:
            time.sleep(seconds)

    threads = [threading.Thread(target=work, args=(0.02 * (i + 1),)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(runs) == 4
    durations = sorted(r.duration for r in runs)
    for expected, measured in zip((0.02, 0.04, 0.06, 0.08), durations):
        assert measured >= expected  # each run saw its own sleep, not another thread's start
        assert measured < expected + 0.5
