"""``PerformanceLogger``: pipeline > stage > subprocess timings with memory, CPU and GPU figures.

Console lines go through ``logging`` (logger ``therapybridge.perf``) in the seed's format::

    [2025-12-09 21:25:04.379] [INFO] [Audio Preprocessing] Stage started
    [2025-12-09 21:25:04.484] [DEBUG]   [load_audio] completed in 0.105s

``verbose=True`` attaches one stderr handler with that format; the library never prints. Stages may run
concurrently in threads: each thread keeps its own stack of open spans, so a subprocess nests under whatever
is open in its thread (or, from a worker thread with nothing open, under the most recently started stage).

Privacy: spans carry names, timings, resource figures and the metadata callers pass, nothing else (exceptions
are recorded by type name only). Never pass transcript text as metadata.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from .monitors import GPUMonitor, ProcessStats, collect_system_info
from .session import (
    GPUStatus,
    PerformanceSession,
    PerfUsageError,
    Span,
    new_session_id,
    sanitize_metadata,
)

__all__ = [
    "LOGGER_NAME", "PerfConsoleFormatter", "PerformanceLogger", "SpanHandle", "attach_console_handler",
    "detach_console_handler",
]

LOGGER_NAME = "therapybridge.perf"
log = logging.getLogger(LOGGER_NAME)
_perf_ns = time.perf_counter_ns
_thread_ns = time.thread_time_ns
_usage = ProcessStats.usage
_get_ident = threading.get_ident


class PerfConsoleFormatter(logging.Formatter):
    """``[YYYY-mm-dd HH:MM:SS.mmm] [LEVEL] message``; records logged with ``extra={"perf_raw": True}`` are
    written as they are (the multi-line summary)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if getattr(record, "perf_raw", False):
            return message
        stamp = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S")
        text = f"[{stamp}.{int(record.msecs):03d}] [{record.levelname}] {message}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


_console_handler: logging.Handler | None = None
_console_users = 0
_console_saved_level = logging.NOTSET
_console_lock = threading.Lock()


def attach_console_handler(level: int = logging.DEBUG) -> logging.Handler:
    """Attach a stderr handler with :class:`PerfConsoleFormatter` to ``therapybridge.perf`` (shared, counted:
    each call needs one :func:`detach_console_handler`)."""
    global _console_handler, _console_users, _console_saved_level
    with _console_lock:
        if _console_handler is None:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(PerfConsoleFormatter())
            handler.setLevel(level)
            # Only the timing lines themselves: diagnostics of submodules (therapybridge.perf.monitors) stay in
            # whatever logging the application configured.
            handler.addFilter(lambda record: record.name == LOGGER_NAME)
            log.addHandler(handler)
            _console_handler = handler
            _console_saved_level = log.level
            if log.level == logging.NOTSET or log.level > level:
                log.setLevel(level)
        _console_users += 1
        return _console_handler


def detach_console_handler() -> None:
    """Undo one :func:`attach_console_handler`; the last one removes the handler and restores the level."""
    global _console_handler, _console_users
    with _console_lock:
        if _console_users == 0:
            return
        _console_users -= 1
        if _console_users == 0 and _console_handler is not None:
            log.removeHandler(_console_handler)
            log.setLevel(_console_saved_level)
            _console_handler = None


class SpanHandle:
    """An open (then closed) span, handed out by ``subprocess()`` / ``stage()``: add metadata with ``set()``."""

    __slots__ = (
        "id", "parent", "name", "kind", "depth", "ident", "thread", "metadata", "start_ns", "end_ns",
        "error", "rss_before", "rss_after", "rss_peak", "maxrss_before", "cpu_before", "cpu_ns", "gpu_peak",
    )

    def __init__(self, name: str, kind: str, parent: SpanHandle | None, metadata: dict[str, Any]) -> None:
        self.id = 0
        self.parent = parent
        self.name = name
        self.kind = kind
        self.depth = 0 if parent is None else parent.depth + 1
        self.ident = _get_ident()
        self.thread = threading.current_thread().name
        self.metadata = metadata
        self.start_ns = 0
        self.end_ns: int | None = None
        self.error: str | None = None
        self.rss_before: int | None = None
        self.rss_after: int | None = None
        self.rss_peak: int | None = None
        self.maxrss_before = 0
        self.cpu_before = 0
        self.cpu_ns: int | None = None
        self.gpu_peak: int | None = None

    def set(self, **metadata: Any) -> None:
        """Add metadata known only later (counts, shapes). No transcript text."""
        self.metadata.update(metadata)

    @property
    def duration(self) -> float | None:
        return None if self.end_ns is None else (self.end_ns - self.start_ns) / 1e9

    def freeze(self, origin: int, end_ns: int | None = None, open_marker: str | None = None) -> Span:
        """The immutable record; a span still open ends at ``end_ns`` and gets ``open_marker`` as its error."""
        end = self.end_ns if self.end_ns is not None else end_ns
        assert end is not None
        return Span(
            id=self.id,
            parent=None if self.parent is None else self.parent.id,
            name=self.name,
            kind=self.kind,
            start_ns=self.start_ns - origin,
            end_ns=end - origin,
            thread=self.thread,
            metadata=sanitize_metadata(self.metadata),
            error=self.error if self.end_ns is not None else (self.error or open_marker),
            rss_before=self.rss_before,
            rss_after=self.rss_after,
            rss_peak=self.rss_peak,
            cpu_ns=self.cpu_ns,
            gpu_peak_allocated=self.gpu_peak,
        )


class _SpanContext:
    """A fresh context per ``with``: opens on enter, always closes on exit, re-raises what the block raised."""

    __slots__ = ("_logger", "_name", "_kind", "_metadata", "_span")

    def __init__(self, logger: PerformanceLogger, name: str, kind: str, metadata: dict[str, Any]) -> None:
        self._logger = logger
        self._name = name
        self._kind = kind
        self._metadata = metadata
        self._span: SpanHandle | None = None

    def __enter__(self) -> SpanHandle:
        if self._kind == "stage":
            self._span = self._logger._start_stage(self._name, self._metadata)
        else:
            self._span = self._logger._open(self._name, self._metadata)
        return self._span

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        span = self._span
        assert span is not None
        if self._kind == "stage":
            self._logger._end_stage(span, exc_type)
        else:
            self._logger._close(span, exc_type)


class PerformanceLogger:
    """Hierarchical timing of a pipeline run, cheap enough to leave on.

    The seed's usage runs as written::

        logger = PerformanceLogger(name="AudioPipeline", output_dir="outputs/performance_logs",
                                   enable_gpu_monitoring=True, verbose=True)
        logger.start_pipeline()
        logger.start_stage("Preprocessing")
        with logger.subprocess("silence_detection"):
            detect_silence(audio)
        logger.end_stage("Preprocessing")
        logger.end_pipeline()   # returns the PerformanceSession; writes reports into output_dir if given

    It is also a ``StageProfiler``: stages receive it as ``profiler`` and call ``profiler.subprocess(...)``.
    ``clock`` (integer nanoseconds) is injectable for tests; the logger's own bookkeeping is always measured on
    real clocks (its thread CPU time, and wall time alongside) and reported as ``metrics.overhead``.
    ``verbose=True`` shows the console lines on stderr from ``start_pipeline()`` to ``end_pipeline()``.
    """

    def __init__(
        self,
        name: str = "pipeline",
        output_dir: str | os.PathLike[str] | None = None,
        enable_gpu_monitoring: bool = True,
        verbose: bool = True,
        *,
        clock: Callable[[], int] = time.perf_counter_ns,
        sample_interval: float | None = 0.5,
        sync_cuda: bool = False,
        track_memory: bool = True,
        redact_paths: bool = False,
        source: str | os.PathLike[str] | None = None,
        report_formats: Iterable[str] = ("json", "txt", "trace", "html"),
        wall_clock: Callable[[], float] = time.time,
        monitor: GPUMonitor | None = None,
    ) -> None:
        self.name = name
        self.output_dir = None if output_dir is None else Path(output_dir)
        self.enable_gpu_monitoring = enable_gpu_monitoring
        self.verbose = verbose
        self.sync_cuda = sync_cuda
        self.track_memory = track_memory
        self.redact_paths = redact_paths
        self.source = None if source is None else os.fspath(source)
        self.report_formats = tuple(report_formats)
        self.sample_interval = sample_interval
        self.report_paths: list[Path] = []
        self._clock = clock
        self._wall_clock = wall_clock
        self._monitor = monitor
        self._stats = ProcessStats() if track_memory else None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._spans: list[SpanHandle] = []
        self._stacks: dict[int, list[SpanHandle]] = {}
        self._open_stages: dict[str, SpanHandle] = {}
        self._root: SpanHandle | None = None
        self._session: PerformanceSession | None = None
        self._system_info: dict[str, Any] = {}
        self._started_at = ""
        self._started_epoch = 0.0
        self._session_id = ""
        self._overhead_ns = 0
        self._overhead_wall_ns = 0
        self._events = 0
        self._wait_ns = 0
        self._wait_started: int | None = None
        self._console_attached = False

    # ------------------------------------------------------------------------------------------ pipeline

    @property
    def gpu_status(self) -> GPUStatus | None:
        return None if self._monitor is None else self._monitor.status

    @property
    def session(self) -> PerformanceSession | None:
        """The finished session (None until ``end_pipeline()``); see ``snapshot()`` for one mid-run."""
        return self._session

    @property
    def started(self) -> bool:
        return self._root is not None

    def start_pipeline(self) -> None:
        """Start the wall clock, detect the GPU and start the sampler. Called implicitly by the first stage."""
        if self._root is not None:
            if self._session is not None:
                raise PerfUsageError("This PerformanceLogger has finished; create a new one for the next run.")
            log.debug("start_pipeline() called twice; ignoring the second call")
            return
        if self.verbose:  # attached for this run only: a quiet logger later in the process stays quiet
            attach_console_handler()
            self._console_attached = True
        if self._monitor is None:
            self._monitor = GPUMonitor(
                self.sample_interval, enable_gpu=self.enable_gpu_monitoring, track_rss=self.track_memory,
                clock=self._clock,
            )
        status = self._monitor.status
        self._system_info = collect_system_info(status)
        self._session_id = new_session_id()
        self._started_epoch = self._wall_clock()
        self._started_at = datetime.fromtimestamp(self._started_epoch).astimezone().isoformat(timespec="milliseconds")
        log.info("[%s] Pipeline started; %s", self.name, status.statement)
        root = SpanHandle(self.name, "pipeline", None, {})
        root.id = 0
        self._measure_start(root)
        root.start_ns = self._clock()
        self._root = root
        self._spans.append(root)
        self._monitor.start()

    def end_pipeline(self) -> PerformanceSession:
        """Stop timing, close anything left open, stop the sampler, write reports if ``output_dir`` was given."""
        if self._root is None:
            raise PerfUsageError("end_pipeline() was called before start_pipeline().")
        if self._session is not None:
            return self._session
        self.end_wait()
        for name in list(self._open_stages):
            log.warning("[%s] Stage was still open at end_pipeline(); closing it", name)
            self.end_stage(name)
        root = self._root
        root.end_ns = self._clock()
        self._measure_end(root)
        assert self._monitor is not None
        self._monitor.stop()
        self._session = self._build_session(root.end_ns)
        log.info("[%s] Pipeline completed in %.3fs", self.name, self._session.total_duration)
        from .reports import render_console_summary, write_reports

        if log.isEnabledFor(logging.INFO):
            log.info("\n" + render_console_summary(self._session), extra={"perf_raw": True})
        try:
            if self.output_dir is not None:
                stem = f"{_safe_stem(self.name)}_{self._session.session_id}"
                self.report_paths = write_reports(self._session, self.output_dir, stem, formats=self.report_formats)
                log.info("[%s] Performance reports written to %s", self.name, self.output_dir)
        finally:
            self._release_console()
        return self._session

    def _release_console(self) -> None:
        if self._console_attached:
            self._console_attached = False
            detach_console_handler()

    def start_wait(self) -> None:
        """The run is queued behind another one (a prefetched batch file): this time is ``queue_wait``, not part of
        ``total_duration``, until ``end_wait()``."""
        if self._root is not None and self._session is None and self._wait_started is None:
            self._wait_started = self._clock()

    def end_wait(self) -> None:
        if self._wait_started is not None:
            self._wait_ns += self._clock() - self._wait_started
            self._wait_started = None

    def snapshot(self) -> PerformanceSession:
        """The session so far (e.g. for a transcript's ``performance_metrics`` while writing it): spans still open
        are cut at the current time. After ``end_pipeline()`` it is the finished session."""
        if self._root is None:
            raise PerfUsageError("snapshot() needs start_pipeline() first.")
        return self._session or self._build_session(self._clock(), open_marker=None)

    def __enter__(self) -> PerformanceLogger:
        self.start_pipeline()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.end_pipeline()

    # ------------------------------------------------------------------------------------------ stages

    def start_stage(self, name: str, **metadata: Any) -> SpanHandle:
        """Open a stage (a direct child of the pipeline). Stages may overlap when run in threads."""
        return self._start_stage(name, metadata)

    def end_stage(self, name: str) -> float:
        """Close the stage ``name`` (from any thread) and return its duration in seconds."""
        with self._lock:
            span = self._open_stages.get(name)
        if span is None:
            raise PerfUsageError(
                f"end_stage({name!r}) has no matching start_stage(); open stages: {sorted(self._open_stages) or 'none'}."
            )
        self._end_stage(span, None)
        return span.duration or 0.0

    def stage(self, name: str, **metadata: Any) -> _SpanContext:
        """``with logger.stage("Speaker Alignment"):`` — start_stage/end_stage that always closes."""
        return _SpanContext(self, name, "stage", metadata)

    def subprocess(self, name: str, **metadata: Any) -> _SpanContext:
        """``with logger.subprocess("resample", rate=16000):`` — a timed sub-step; nests under whatever is open
        in this thread. Exceptions are recorded (type name) and re-raised; the timer always closes."""
        return _SpanContext(self, name, "subprocess", metadata)

    # ------------------------------------------------------------------------------------------ internals

    def _start_stage(self, name: str, metadata: dict[str, Any]) -> SpanHandle:
        if self._root is None:  # set-up (GPU detection, system facts) happens before the clock starts
            self.start_pipeline()
        if self.sync_cuda and self._monitor is not None:  # the GPU's queued work is not bookkeeping
            self._monitor.synchronize()
        t_in, c_in = _perf_ns(), _thread_ns()
        if self._session is not None:
            raise PerfUsageError(f"Stage {name!r} started after end_pipeline(); create a new PerformanceLogger.")
        monitor = self._monitor
        assert monitor is not None and self._root is not None
        with self._lock:
            if name in self._open_stages:
                raise PerfUsageError(f"Stage {name!r} is already running; end it before starting it again.")
            alone = not self._open_stages
            span = SpanHandle(name, "stage", self._root, metadata)
            span.id = next(self._ids)
            self._open_stages[name] = span
            self._spans.append(span)
        if alone:  # a per-stage peak only means something when no other stage shares the device
            monitor.reset_peak()
        self._measure_start(span)
        self._stacks.setdefault(span.ident, []).append(span)
        log.info("[%s] Stage started", name)
        span.start_ns = self._clock()
        self._charge(_perf_ns() - t_in, _thread_ns() - c_in)
        return span

    def _end_stage(self, span: SpanHandle, exc_type: type[BaseException] | None) -> None:
        if self.sync_cuda and self._monitor is not None:
            self._monitor.synchronize()
        end = self._clock()
        t_in, c_in = _perf_ns(), _thread_ns()
        span.end_ns = end
        if exc_type is not None:
            span.error = exc_type.__name__
        self._measure_end(span)
        if self._monitor is not None:
            span.gpu_peak = self._monitor.peak_allocated()
        with self._lock:
            self._open_stages.pop(span.name, None)
        self._unstack(span)
        if exc_type is None:
            log.info("[%s] Stage completed in %.3fs", span.name, (end - span.start_ns) / 1e9)
        else:
            log.warning("[%s] Stage failed after %.3fs (%s)", span.name, (end - span.start_ns) / 1e9, span.error)
        self._charge(_perf_ns() - t_in, _thread_ns() - c_in)

    def _open(self, name: str, metadata: dict[str, Any]) -> SpanHandle:
        if self._root is None:
            self.start_pipeline()
        t_in, c_in = _perf_ns(), _thread_ns()
        stack = self._stacks.get(_get_ident())
        if stack:
            parent = stack[-1]
        else:
            parent = self._fallback_parent()
            stack = self._stacks.setdefault(_get_ident(), [])
        span = SpanHandle(name, "subprocess", parent, metadata)
        span.id = next(self._ids)
        self._spans.append(span)
        self._measure_start(span)
        stack.append(span)
        span.start_ns = self._clock()
        self._charge(_perf_ns() - t_in, _thread_ns() - c_in)
        return span

    def _close(self, span: SpanHandle, exc_type: type[BaseException] | None) -> None:
        end = self._clock()
        t_in, c_in = _perf_ns(), _thread_ns()
        span.end_ns = end
        self._measure_end(span)
        if exc_type is not None:
            span.error = exc_type.__name__
        self._unstack(span)
        if exc_type is not None:
            log.warning("%s[%s] failed after %.3fs (%s)", "  " * (span.depth - 1), span.name,
                        (end - span.start_ns) / 1e9, span.error)
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("%s[%s] completed in %.3fs", "  " * (span.depth - 1), span.name, (end - span.start_ns) / 1e9)
        self._charge(_perf_ns() - t_in, _thread_ns() - c_in)

    def _fallback_parent(self) -> SpanHandle:
        """Parent for a span opened in a thread with nothing open: the latest open stage, else the pipeline."""
        with self._lock:
            stages = list(self._open_stages.values())
        assert self._root is not None
        return stages[-1] if stages else self._root

    def _measure_start(self, span: SpanHandle) -> None:
        span.cpu_before, span.maxrss_before = _usage()
        stats = self._stats
        if stats is not None:
            span.rss_before = stats.rss()

    def _measure_end(self, span: SpanHandle) -> None:
        cpu, max_rss = _usage()
        span.cpu_ns = max(cpu - span.cpu_before, 0)
        stats = self._stats
        if stats is not None:
            span.rss_after = stats.rss()
            # A new lifetime peak reached inside the span is the span's exact peak; otherwise the report
            # falls back to the highest of before/after and the sampler's readings.
            if max_rss > span.maxrss_before:
                span.rss_peak = max_rss

    def _unstack(self, span: SpanHandle) -> None:
        stack = self._stacks.get(span.ident)
        if not stack:
            return
        if stack[-1] is span:
            stack.pop()
        else:
            try:
                stack.remove(span)
            except ValueError:
                pass

    def _charge(self, wall_ns: int, cpu_ns: int) -> None:
        """Add one event's bookkeeping: CPU time of this thread (what the logger itself used, unaffected by time
        the OS gave to other processes) and wall time (which also counts such stalls)."""
        with self._lock:
            self._overhead_ns += cpu_ns
            self._overhead_wall_ns += wall_ns
            self._events += 1

    def _build_session(self, end_ns: int, open_marker: str | None = "unfinished") -> PerformanceSession:
        root = self._root
        assert root is not None and self._monitor is not None
        origin = root.start_ns
        with self._lock:
            live = list(self._spans)
        spans = tuple(span.freeze(origin, end_ns, open_marker) for span in live)
        samples = tuple(
            sample.__class__(sample.t_ns - origin, sample.rss, sample.gpu_util, sample.gpu_mem_used,
                             sample.gpu_allocated)
            for sample in self._monitor.samples()
            if origin <= sample.t_ns <= end_ns
        )
        session = PerformanceSession(
            session_id=self._session_id,
            pipeline_name=self.name,
            spans=spans,
            samples=samples,
            system_info=self._system_info,
            gpu=self._monitor.status,
            started_at=self._started_at,
            started_at_epoch=self._started_epoch,
            source=self.source,
            overhead_ns=self._overhead_ns,
            overhead_wall_ns=self._overhead_wall_ns,
            overhead_events=self._events,
            sample_interval=self._monitor.interval,
            wait_ns=self._wait_ns + (end_ns - self._wait_started if self._wait_started is not None else 0),
        )
        return session.redacted() if self.redact_paths else session


def _safe_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "pipeline"

