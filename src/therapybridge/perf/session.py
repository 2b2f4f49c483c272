"""The saved record of one profiled run: spans, samples and system facts, kept apart from how it is shown.

A :class:`PerformanceSession` holds raw spans (pipeline > stage > subprocess, nanoseconds relative to the
pipeline's start) and background samples. Everything in ``metrics`` (durations, percentages, overlap,
critical path, GPU and memory per stage) is derived from them, so a session loaded from JSON renders
exactly like the one that was saved. Only names, timings, resource figures and caller-supplied metadata are
stored: never transcript text.
"""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..errors import TherapyBridgeError

__all__ = [
    "PERF_SCHEMA_VERSION",
    "GPUStatus",
    "PerfFormatError",
    "PerfUsageError",
    "PerformanceSession",
    "Sample",
    "Span",
    "hash_path",
    "perf_schema",
    "sanitize_metadata",
]

PERF_SCHEMA_VERSION = "1.0"
MB = 1024 * 1024
_MAX_LIST = 50
_MAX_STR = 500
_PATH_KEYS = ("path", "file", "filename", "input", "output", "source", "dir")


class PerfUsageError(TherapyBridgeError, RuntimeError):
    """The profiler was driven out of order (a stage ended that was never started, or started twice)."""


class PerfFormatError(TherapyBridgeError, ValueError):
    """A file is not a performance report this version can read."""


@dataclass(frozen=True, slots=True)
class Span:
    """One timed interval. ``kind`` is ``pipeline``, ``stage`` or ``subprocess``; times are ns from pipeline start."""

    id: int
    parent: int | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    thread: str = "MainThread"
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    rss_before: int | None = None
    rss_after: int | None = None
    rss_peak: int | None = None
    cpu_ns: int | None = None
    gpu_peak_allocated: int | None = None

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parent": self.parent,
            "name": self.name,
            "kind": self.kind,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "thread": self.thread,
            "metadata": dict(self.metadata),
            "error": self.error,
            "rss_before": self.rss_before,
            "rss_after": self.rss_after,
            "rss_peak": self.rss_peak,
            "cpu_ns": self.cpu_ns,
            "gpu_peak_allocated": self.gpu_peak_allocated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Span:
        return cls(
            id=int(data["id"]),
            parent=None if data.get("parent") is None else int(data["parent"]),
            name=str(data["name"]),
            kind=str(data["kind"]),
            start_ns=int(data["start_ns"]),
            end_ns=int(data["end_ns"]),
            thread=str(data.get("thread", "MainThread")),
            metadata=dict(data.get("metadata") or {}),
            error=data.get("error"),
            rss_before=data.get("rss_before"),
            rss_after=data.get("rss_after"),
            rss_peak=data.get("rss_peak"),
            cpu_ns=data.get("cpu_ns"),
            gpu_peak_allocated=data.get("gpu_peak_allocated"),
        )


@dataclass(frozen=True, slots=True)
class Sample:
    """One background reading. Fields are None when not measured (never a made-up zero)."""

    t_ns: int
    rss: int | None = None
    gpu_util: float | None = None
    gpu_mem_used: int | None = None
    gpu_allocated: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "t_ns": self.t_ns,
            "rss": self.rss,
            "gpu_util": self.gpu_util,
            "gpu_mem_used": self.gpu_mem_used,
            "gpu_allocated": self.gpu_allocated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sample:
        return cls(
            t_ns=int(data["t_ns"]),
            rss=data.get("rss"),
            gpu_util=data.get("gpu_util"),
            gpu_mem_used=data.get("gpu_mem_used"),
            gpu_allocated=data.get("gpu_allocated"),
        )


@dataclass(frozen=True, slots=True)
class GPUStatus:
    """What GPU monitoring found. ``present`` is None when monitoring was switched off (nothing was checked)."""

    present: bool | None
    backend: str  # "cuda", "mps", "none" or "disabled"
    note: str
    devices: tuple[Mapping[str, Any], ...] = ()
    utilization: bool = False  # whether utilization % is measured (NVML only)

    @property
    def statement(self) -> str:
        """The one line every report prints about the GPU."""
        return self.note

    def to_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "backend": self.backend,
            "note": self.note,
            "devices": [dict(d) for d in self.devices],
            "utilization": self.utilization,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GPUStatus:
        return cls(
            present=data.get("present"),
            backend=str(data.get("backend", "none")),
            note=str(data.get("note", "")),
            devices=tuple(dict(d) for d in data.get("devices") or ()),
            utilization=bool(data.get("utilization", False)),
        )


# ----------------------------------------------------------------------------------------------- metadata


def sanitize_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Make caller metadata JSON-safe: primitives kept, paths as strings, other objects by type name only.

    Unknown objects are never ``repr``-ed, so an array or a text buffer cannot leak its contents.
    """
    return {str(key): _json_safe(value) for key, value in metadata.items()}


def _json_safe(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, str):
        return value if len(value) <= _MAX_STR else value[:_MAX_STR] + "…"
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if depth < 3 and isinstance(value, Mapping):
        return {str(k): _json_safe(v, depth + 1) for k, v in list(value.items())[:_MAX_LIST]}
    if depth < 3 and isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(v, depth + 1) for v in list(value)[:_MAX_LIST]]
    type_name = type(value).__name__
    if type_name in ("device", "dtype"):  # torch.device / torch.dtype: short, informative, no data
        return str(value)
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:  # numpy / torch scalars
        try:
            return _json_safe(item(), depth + 1)
        except Exception:  # noqa: BLE001 - any failure just falls back to the type name
            pass
    return f"<{type_name}>"


def hash_path(value: str) -> str:
    """Replace a path by a keyed hash of its file name, keeping the extension (``file-3fa2…​.mp3``); see
    :mod:`therapybridge.redaction`."""
    from ..redaction import redact_name

    return redact_name(value)


def _looks_like_path(key: str, value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    if any(part in key.lower() for part in _PATH_KEYS):
        return True
    return ("/" in value or "\\" in value) and not value.startswith(("<", "http"))


def _redact_value(key: str, value: Any) -> Any:
    if isinstance(value, list):
        return [_redact_value(key, v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(k, v) for k, v in value.items()}
    if _looks_like_path(key, value):
        return hash_path(value)
    if isinstance(value, str):
        from ..redaction import scrub

        return scrub(value)
    return value


# ----------------------------------------------------------------------------------------------- session


def _seconds(ns: int | float) -> float:
    return round(ns / 1e9, 9)


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / MB, 3)


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 6) if whole > 0 else 0.0


@dataclass(frozen=True)
class PerformanceSession:
    """Everything one profiled run recorded. Build with :class:`~therapybridge.perf.PerformanceLogger`,
    save with :meth:`to_json`, read back with :meth:`load`, merge a batch with :meth:`combine`."""

    session_id: str
    pipeline_name: str
    spans: tuple[Span, ...]
    samples: tuple[Sample, ...] = ()
    system_info: Mapping[str, Any] = field(default_factory=dict)
    gpu: GPUStatus = field(default_factory=lambda: GPUStatus(None, "disabled", "GPU monitoring was disabled."))
    started_at: str = ""
    started_at_epoch: float = 0.0
    source: str | None = None
    overhead_ns: int = 0  # the logger's own CPU time (thread CPU clock)
    overhead_events: int = 0
    overhead_wall_ns: int = 0
    sample_interval: float | None = None
    sources: tuple[Mapping[str, Any], ...] = ()
    wait_ns: int = 0  # time spent queued behind another run (a batch's prefetched file); not in total_duration

    def __post_init__(self) -> None:
        object.__setattr__(self, "system_info", MappingProxyType(dict(self.system_info)))
        if not any(span.kind == "pipeline" for span in self.spans):
            raise PerfFormatError("A performance session needs a pipeline span; record one with start_pipeline().")

    # ---- structure

    @property
    def root(self) -> Span:
        return next(span for span in self.spans if span.kind == "pipeline" and span.parent is None)

    @property
    def wall_duration_ns(self) -> int:
        """From the pipeline's start to its end, queue wait included (the span the timeline draws)."""
        return self.root.duration_ns

    @property
    def total_duration_ns(self) -> int:
        return max(self.root.duration_ns - self.wait_ns, 0)

    @property
    def total_duration(self) -> float:
        """Wall time the pipeline spent on this run, in seconds; time queued behind another run is ``queue_wait``."""
        return _seconds(self.total_duration_ns)

    @property
    def queue_wait(self) -> float:
        return _seconds(self.wait_ns)

    def children(self, span_id: int | None) -> list[Span]:
        return [span for span in self.spans if span.parent == span_id]

    def stage_spans(self) -> list[Span]:
        return sorted((s for s in self.spans if s.kind == "stage"), key=lambda s: (s.start_ns, s.id))

    # ---- derived metrics

    def metrics(self) -> dict[str, Any]:
        """Durations, percentages, memory, CPU, GPU, overlap and critical path, derived from the spans."""
        total = self.total_duration_ns
        by_parent: dict[int | None, list[Span]] = {}
        for span in sorted(self.spans, key=lambda s: (s.start_ns, s.id)):
            by_parent.setdefault(span.parent, []).append(span)
        stages: dict[str, list[Span]] = {}
        for span in self.stage_spans():
            stages.setdefault(span.name, []).append(span)
        metrics: dict[str, Any] = {
            "total_duration": _seconds(total),
            "queue_wait": _seconds(self.wait_ns),
            "stages": {
                name: self._stage_metrics(spans, total, by_parent) for name, spans in stages.items()
            },
        }
        root = self.root
        loose = [s for s in by_parent.get(root.id, []) if s.kind == "subprocess"]
        if loose:
            metrics["unstaged_subprocesses"] = _group_subprocesses(loose, total, by_parent)
        metrics["concurrency"] = self._concurrency(total)
        metrics["top_subprocesses"] = self.top_subprocesses()
        metrics["overhead"] = {
            "bookkeeping_seconds": _seconds(self.overhead_ns),
            "share_of_total_percent": _percent(self.overhead_ns, total),
            "bookkeeping_wall_seconds": _seconds(self.overhead_wall_ns),
            "events": self.overhead_events,
            "measured_as": "CPU time of the logger's own code (thread CPU clock); wall time alongside",
        }
        metrics["memory"] = _memory_summary([root], self._samples_between(root.start_ns, root.end_ns))
        metrics["cpu"] = _cpu_summary([root], self.system_info.get("cpu_count"))
        metrics["gpu"] = self.gpu.to_dict()
        return metrics

    def _stage_metrics(
        self, spans: list[Span], total: int, by_parent: Mapping[int | None, list[Span]]
    ) -> dict[str, Any]:
        duration = sum(span.duration_ns for span in spans)
        children = [child for span in spans for child in by_parent.get(span.id, [])]
        samples = [s for span in spans for s in self._samples_between(span.start_ns, span.end_ns)]
        errors = [span.error for span in spans if span.error]
        result: dict[str, Any] = {
            "duration": _seconds(duration),
            "start": _seconds(spans[0].start_ns),
            "end": _seconds(max(span.end_ns for span in spans)),
            "count": len(spans),
            "percent_of_total": _percent(duration, total),
            "subprocesses": _group_subprocesses(children, duration, by_parent),
            "gpu_stats": self._gpu_stats(spans, samples),
            "memory": _memory_summary(spans, samples),
            "cpu": _cpu_summary(spans, self.system_info.get("cpu_count")),
        }
        if errors:
            result["errors"] = errors
        return result

    def _samples_between(self, start_ns: int, end_ns: int) -> list[Sample]:
        times = [s.t_ns for s in self.samples]
        lo = bisect.bisect_left(times, start_ns)
        hi = bisect.bisect_right(times, end_ns)
        return list(self.samples[lo:hi])

    def _gpu_stats(self, spans: list[Span], samples: list[Sample]) -> dict[str, Any]:
        gpu = self.gpu
        if not gpu.present:
            return {"available": False, "backend": gpu.backend, "note": gpu.note}
        utils = [s.gpu_util for s in samples if s.gpu_util is not None]
        used = [s.gpu_mem_used for s in samples if s.gpu_mem_used is not None]
        allocated = [s.gpu_allocated for s in samples if s.gpu_allocated is not None]
        peaks = [s.gpu_peak_allocated for s in spans if s.gpu_peak_allocated is not None]
        device = gpu.devices[0].get("name") if gpu.devices else None
        return {
            "available": True,
            "backend": gpu.backend,
            "device": device,
            "samples": len(samples),
            "utilization_mean": round(sum(utils) / len(utils), 3) if utils else None,
            "utilization_max": max(utils) if utils else None,
            "memory_used_max_mb": _mb(max(used)) if used else None,
            "allocated_max_mb": _mb(max(allocated + peaks)) if (allocated or peaks) else None,
            "torch_peak_allocated_mb": _mb(max(peaks)) if peaks else None,
        }

    def _concurrency(self, total: int) -> dict[str, Any]:
        stages = self.stage_spans()
        pairs = []
        for i, a in enumerate(stages):
            for b in stages[i + 1 :]:
                shared = min(a.end_ns, b.end_ns) - max(a.start_ns, b.start_ns)
                if shared > 0:
                    pairs.append({"stages": [a.name, b.name], "seconds": _seconds(shared)})
        path = _critical_path(stages)
        stage_sum = sum(s.duration_ns for s in stages)
        path_ns = sum(s.duration_ns for s in path)
        return {
            "stages_overlap": bool(pairs),
            "overlaps": pairs,
            "sum_of_stage_durations": _seconds(stage_sum),
            "sum_percent_of_total": _percent(stage_sum, total),
            "critical_path": [s.name for s in path],
            "critical_path_duration": _seconds(path_ns),
            "critical_path_percent_of_total": _percent(path_ns, total),
        }

    def top_subprocesses(self, limit: int = 10) -> list[dict[str, Any]]:
        """Subprocess names by total time across the whole run (nested ones included)."""
        totals: dict[str, list[int]] = {}
        for span in self.spans:
            if span.kind == "subprocess":
                entry = totals.setdefault(span.name, [0, 0])
                entry[0] += span.duration_ns
                entry[1] += 1
        ranked = sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))[:limit]
        return [
            {"name": name, "total": _seconds(ns), "count": count, "average": _seconds(ns / count)}
            for name, (ns, count) in ranked
        ]

    # ---- serialisation

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: identity, derived ``metrics``, ``system_info``, then the raw spans and samples."""
        data = {
            "schema_version": PERF_SCHEMA_VERSION,
            "session_id": self.session_id,
            "pipeline_name": self.pipeline_name,
            "started_at": self.started_at,
            "started_at_epoch": self.started_at_epoch,
            "source": self.source,
            "metrics": self.metrics(),
            "system_info": dict(self.system_info),
            "gpu": self.gpu.to_dict(),
            "sample_interval": self.sample_interval,
            "overhead_ns": self.overhead_ns,
            "overhead_wall_ns": self.overhead_wall_ns,
            "overhead_events": self.overhead_events,
            "wait_ns": self.wait_ns,
            "spans": [span.to_dict() for span in self.spans],
            "samples": [sample.to_dict() for sample in self.samples],
        }
        if self.sources:
            data["sources"] = [dict(s) for s in self.sources]
        return data

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PerformanceSession:
        try:
            return cls(
                session_id=str(data["session_id"]),
                pipeline_name=str(data["pipeline_name"]),
                spans=tuple(Span.from_dict(s) for s in data["spans"]),
                samples=tuple(Sample.from_dict(s) for s in data.get("samples") or ()),
                system_info=dict(data.get("system_info") or {}),
                gpu=GPUStatus.from_dict(data.get("gpu") or {}),
                started_at=str(data.get("started_at", "")),
                started_at_epoch=float(data.get("started_at_epoch", 0.0)),
                source=data.get("source"),
                overhead_ns=int(data.get("overhead_ns", 0)),
                overhead_events=int(data.get("overhead_events", 0)),
                overhead_wall_ns=int(data.get("overhead_wall_ns", 0)),
                sample_interval=data.get("sample_interval"),
                sources=tuple(dict(s) for s in data.get("sources") or ()),
                wait_ns=int(data.get("wait_ns", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, PerfFormatError):
                raise
            raise PerfFormatError(
                f"Not a therapybridge performance report ({type(exc).__name__}: {exc}); "
                "pass a <stem>.perf.json written by --profile."
            ) from exc

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PerformanceSession:
        """Read a ``.perf.json`` written by :meth:`to_json` / ``write_reports``."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PerfFormatError(f"Cannot read performance report {os.fspath(path)!r}: {exc.strerror}.") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PerfFormatError(
                f"{os.fspath(path)!r} is not valid JSON (line {exc.lineno}); pass a .perf.json written by --profile."
            ) from exc
        if not isinstance(data, dict):
            raise PerfFormatError(f"{os.fspath(path)!r} is not a performance report; pass a .perf.json file.")
        return cls.from_dict(data)

    # ---- transformations

    def redacted(self) -> PerformanceSession:
        """A copy with file names in metadata and the source replaced by hashes of their names."""
        spans = tuple(
            replace(span, metadata={k: _redact_value(k, v) for k, v in span.metadata.items()}) for span in self.spans
        )
        sources = tuple(
            {**s, "source": hash_path(s["source"]) if s.get("source") else s.get("source")} for s in self.sources
        )
        return replace(
            self,
            spans=spans,
            source=hash_path(self.source) if self.source else self.source,
            sources=sources,
        )

    @classmethod
    def combine(
        cls, sessions: Sequence[PerformanceSession], pipeline_name: str | None = None
    ) -> PerformanceSession:
        """Merge per-file sessions into one batch session on a common clock.

        Each file becomes a ``subprocess`` span named after its source under a new pipeline root, placed at
        its real start time (``started_at_epoch``); stages keep their names so the batch report adds them up.
        """
        if not sessions:
            raise PerfUsageError("combine() needs at least one session.")
        ordered = sorted(sessions, key=lambda s: s.started_at_epoch)
        origin = ordered[0].started_at_epoch
        spans: list[Span] = []
        samples: list[Sample] = []
        next_id = 1
        for index, session in enumerate(ordered):
            offset = int(round((session.started_at_epoch - origin) * 1e9)) - session.root.start_ns
            ids = {}
            for span in sorted(session.spans, key=lambda s: s.id):
                ids[span.id] = next_id
                next_id += 1
            for span in session.spans:
                is_root = span.kind == "pipeline"
                spans.append(
                    replace(
                        span,
                        id=ids[span.id],
                        parent=0 if is_root else ids[span.parent] if span.parent is not None else 0,
                        kind="file" if is_root else span.kind,
                        name=(session.source or f"file {index + 1}") if is_root else span.name,
                        start_ns=span.start_ns + offset,
                        end_ns=span.end_ns + offset,
                    )
                )
            samples.extend(replace(s, t_ns=s.t_ns + offset) for s in session.samples)
        start = min(s.start_ns for s in spans)
        end = max(s.end_ns for s in spans)
        root = Span(id=0, parent=None, name=pipeline_name or ordered[0].pipeline_name, kind="pipeline",
                    start_ns=start, end_ns=end)
        first = ordered[0]
        return cls(
            session_id=f"{first.session_id}_batch{len(ordered)}",
            pipeline_name=pipeline_name or first.pipeline_name,
            spans=(root, *spans),
            samples=tuple(sorted(samples, key=lambda s: s.t_ns)),
            system_info=first.system_info,
            gpu=first.gpu,
            started_at=first.started_at,
            started_at_epoch=origin,
            source=None,
            overhead_ns=sum(s.overhead_ns for s in ordered),
            overhead_events=sum(s.overhead_events for s in ordered),
            overhead_wall_ns=sum(s.overhead_wall_ns for s in ordered),
            sample_interval=first.sample_interval,
            sources=tuple(
                {"session_id": s.session_id, "source": s.source, "total_duration": s.total_duration,
                 "queue_wait": s.queue_wait}
                for s in ordered
            ),
        )


# ----------------------------------------------------------------------------------------------- helpers


def _group_subprocesses(
    spans: Iterable[Span], parent_duration: int, by_parent: Mapping[int | None, list[Span]]
) -> dict[str, Any]:
    """Aggregate sibling spans by name (total, count, merged metadata), recursing into nested ones."""
    groups: dict[str, list[Span]] = {}
    for span in spans:
        if span.kind in ("subprocess", "file"):
            groups.setdefault(span.name, []).append(span)
    result: dict[str, Any] = {}
    for name, group in groups.items():
        duration = sum(s.duration_ns for s in group)
        entry: dict[str, Any] = {
            "duration": _seconds(duration),
            "count": len(group),
            "average": _seconds(duration / len(group)),
            "start": _seconds(group[0].start_ns),
            "percent_of_parent": _percent(duration, parent_duration),
            "metadata": _merge_metadata([s.metadata for s in group]),
            "memory": _memory_summary(group, []),
            "cpu": _cpu_summary(group, None),
        }
        errors = [s.error for s in group if s.error]
        if errors:
            entry["errors"] = errors
        nested = [child for s in group for child in by_parent.get(s.id, [])]
        if nested:
            entry["subprocesses"] = _group_subprocesses(nested, duration, by_parent)
        result[name] = entry
    return result


def _merge_metadata(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    if len(items) == 1:
        return dict(items[0])
    merged: dict[str, Any] = {}
    keys = list(dict.fromkeys(k for item in items for k in item))
    for key in keys:
        values = [item.get(key) for item in items]
        first = values[0]
        merged[key] = first if all(v == first for v in values) else values[:_MAX_LIST]
    return merged


def _memory_summary(spans: Sequence[Span], samples: Sequence[Sample]) -> dict[str, Any]:
    before = next((s.rss_before for s in spans if s.rss_before is not None), None)
    after = next((s.rss_after for s in reversed(spans) if s.rss_after is not None), None)
    candidates = [v for s in spans for v in (s.rss_before, s.rss_after, s.rss_peak) if v is not None]
    candidates += [s.rss for s in samples if s.rss is not None]
    peak = max(candidates) if candidates else None
    return {
        "rss_before_mb": _mb(before),
        "rss_after_mb": _mb(after),
        "rss_peak_mb": _mb(peak),
        "rss_delta_mb": _mb(after - before) if before is not None and after is not None else None,
    }


def _cpu_summary(spans: Sequence[Span], cpu_count: int | None) -> dict[str, Any]:
    measured = [s for s in spans if s.cpu_ns is not None]
    if not measured:
        return {"cpu_seconds": None, "utilization_percent": None}
    cpu = sum(s.cpu_ns for s in measured)  # type: ignore[misc]
    wall = sum(s.duration_ns for s in measured)
    result = {"cpu_seconds": _seconds(cpu), "utilization_percent": round(_percent(cpu, wall), 3)}
    if cpu_count:
        result["utilization_percent_of_all_cores"] = round(_percent(cpu, wall) / cpu_count, 3)
    return result


def _critical_path(stages: Sequence[Span]) -> list[Span]:
    """The chain of stages that sets the wall time: from the last to finish, back through the latest-finishing
    stage that ended before each one began (stages carry no explicit dependencies, so time order stands in)."""
    if not stages:
        return []
    current = max(stages, key=lambda s: (s.end_ns, -s.start_ns))
    path = [current]
    while True:
        before = [s for s in stages if s.end_ns <= current.start_ns and s is not current]
        if not before:
            break
        current = max(before, key=lambda s: (s.end_ns, -s.start_ns))
        path.append(current)
    return path[::-1]


def new_session_id(now: datetime | None = None) -> str:
    """``20251209_212504_3f9a1c``: the seed's timestamp form plus a random suffix so batch files never collide."""
    now = now or datetime.now()
    return f"{now:%Y%m%d_%H%M%S}_{os.urandom(3).hex()}"


def perf_schema() -> dict[str, Any]:
    """The JSON Schema that every ``.perf.json`` validates against."""
    from importlib import resources

    text = resources.files("therapybridge").joinpath("schemas/perf.schema.json").read_text(encoding="utf-8")
    return json.loads(text)
