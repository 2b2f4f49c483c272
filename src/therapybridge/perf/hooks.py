"""The small timing protocol every stage accepts, with a no-op default so stages never check for None."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol


class StageProfiler(Protocol):
    """Anything that can time a named sub-step of a stage (``PerformanceLogger`` is one)."""

    def subprocess(self, name: str, **metadata: Any) -> AbstractContextManager[Any]: ...


class NullProfiler:
    """A profiler that records nothing; the default for stages run outside a pipeline."""

    def subprocess(self, name: str, **metadata: Any) -> AbstractContextManager[Any]:
        return nullcontext()


NULL_PROFILER = NullProfiler()
