"""``PerformanceTimer``: time a block or a function with ``time.perf_counter_ns`` (or any injected clock)."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

Clock = Callable[[], int]
F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["Clock", "PerformanceTimer", "TimerRun"]


class TimerRun:
    """One timed execution: created on enter, completed on exit (a fresh one for every call)."""

    __slots__ = ("name", "start_ns", "end_ns")

    def __init__(self, name: str, start_ns: int) -> None:
        self.name = name
        self.start_ns = start_ns
        self.end_ns: int | None = None

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None else self.end_ns - self.start_ns

    @property
    def duration(self) -> float | None:
        """Seconds, or None while the run is still open."""
        ns = self.duration_ns
        return None if ns is None else ns / 1e9

    def __repr__(self) -> str:
        return f"TimerRun(name={self.name!r}, duration={self.duration!r})"


class PerformanceTimer:
    """Context manager and decorator that measures wall time.

    Every ``with`` (or decorated call) gets its own :class:`TimerRun`, kept on a per-thread stack, so one
    timer object can be re-entered recursively and shared between threads. ``duration`` is the last
    completed run's duration in seconds; ``on_exit(run)`` is called after every run.

    >>> with PerformanceTimer("work") as run:
    ...     pass
    >>> run.duration >= 0
    True
    """

    def __init__(
        self,
        name: str,
        clock: Clock = time.perf_counter_ns,
        *,
        on_exit: Callable[[TimerRun], None] | None = None,
    ) -> None:
        self.name = name
        self._clock = clock
        self._on_exit = on_exit
        self._local = threading.local()
        self.last: TimerRun | None = None

    @property
    def duration(self) -> float | None:
        """Seconds taken by the most recently completed run (None before the first one ends)."""
        last = self.last
        return None if last is None else last.duration

    @property
    def duration_ns(self) -> int | None:
        last = self.last
        return None if last is None else last.duration_ns

    def __enter__(self) -> TimerRun:
        stack = self._local.__dict__.get("stack")
        if stack is None:
            stack = self._local.stack = []
        run = TimerRun(self.name, self._clock())
        stack.append(run)
        return run

    def __exit__(self, *exc_info: object) -> None:
        end = self._clock()
        run = self._local.stack.pop()
        run.end_ns = end
        self.last = run
        if self._on_exit is not None:
            self._on_exit(run)

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return timed  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"PerformanceTimer(name={self.name!r}, duration={self.duration!r})"
