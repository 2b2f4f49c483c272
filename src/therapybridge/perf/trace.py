"""Chrome trace-event JSON (opens in Perfetto and chrome://tracing) and the lane layout shared with the HTML.

Spans become complete (``"X"``) events; samples become counter (``"C"``) events for RSS, GPU utilization and
GPU memory. Trace viewers require the events on one track to nest strictly, so spans are laid out on lanes:
a span goes on its parent's lane when it fits inside what is open there, otherwise on the first lane where it
fits. Overlapping stages therefore land on separate lanes instead of breaking the nesting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .session import MB, PerformanceSession, Span

__all__ = ["assign_lanes", "render_trace"]

_PID = 1


def assign_lanes(spans: Sequence[Span]) -> dict[int, int]:
    """Span id -> lane index such that spans on one lane are disjoint or strictly nested."""
    ordered = sorted(spans, key=lambda s: (s.start_ns, -s.end_ns, s.id))
    lanes: list[list[Span]] = []  # per lane, the stack of spans still open at the current start time
    placed: dict[int, int] = {}

    def fits(lane: list[Span], span: Span) -> bool:
        while lane and lane[-1].end_ns <= span.start_ns:
            lane.pop()
        return not lane or (lane[-1].start_ns <= span.start_ns and span.end_ns <= lane[-1].end_ns)

    for span in ordered:
        preferred = placed.get(span.parent) if span.parent is not None else None
        candidates = ([preferred] if preferred is not None else []) + list(range(len(lanes)))
        lane_index = next((i for i in candidates if fits(lanes[i], span)), None)
        if lane_index is None:
            lanes.append([])
            lane_index = len(lanes) - 1
        lanes[lane_index].append(span)
        placed[span.id] = lane_index
    return placed


def _us(ns: int) -> float:
    return ns / 1000.0


def _span_args(span: Span) -> dict[str, Any]:
    args: dict[str, Any] = {"kind": span.kind, "thread": span.thread}
    if span.metadata:
        args["metadata"] = dict(span.metadata)
    if span.error:
        args["error"] = span.error
    for key in ("rss_before", "rss_after", "rss_peak"):
        value = getattr(span, key)
        if value is not None:
            args[f"{key}_mb"] = round(value / MB, 3)
    if span.cpu_ns is not None:
        args["cpu_seconds"] = round(span.cpu_ns / 1e9, 6)
    if span.gpu_peak_allocated is not None:
        args["gpu_peak_allocated_mb"] = round(span.gpu_peak_allocated / MB, 3)
    return args


def render_trace(session: PerformanceSession) -> dict[str, Any]:
    """The session as a trace-event document (``{"traceEvents": [...], ...}``)."""
    lanes = assign_lanes(session.spans)
    events: list[dict[str, Any]] = [
        {"name": "process_name", "ph": "M", "pid": _PID, "tid": 0, "args": {"name": session.pipeline_name}},
    ]
    for lane in sorted(set(lanes.values())):
        threads = sorted({s.thread for s in session.spans if lanes[s.id] == lane})
        label = "pipeline" if lane == 0 else f"lane {lane + 1}"
        events.append({"name": "thread_name", "ph": "M", "pid": _PID, "tid": lane + 1,
                       "args": {"name": f"{label} ({', '.join(threads)})"}})
        events.append({"name": "thread_sort_index", "ph": "M", "pid": _PID, "tid": lane + 1,
                       "args": {"sort_index": lane}})
    for span in sorted(session.spans, key=lambda s: (s.start_ns, -s.end_ns, s.id)):
        events.append({
            "name": span.name,
            "cat": span.kind,
            "ph": "X",
            "ts": _us(span.start_ns),
            "dur": _us(span.duration_ns),
            "pid": _PID,
            "tid": lanes[span.id] + 1,
            "args": _span_args(span),
        })
        if span.error:  # a marker where it failed, easy to spot when zoomed out
            events.append({"name": f"failed: {span.name} ({span.error})", "cat": "error", "ph": "i", "s": "t",
                           "ts": _us(span.end_ns), "pid": _PID, "tid": lanes[span.id] + 1})
    for sample in session.samples:
        ts = _us(sample.t_ns)
        if sample.rss is not None:
            events.append({"name": "Process RSS (MB)", "ph": "C", "ts": ts, "pid": _PID,
                           "args": {"rss": round(sample.rss / MB, 3)}})
        if sample.gpu_util is not None:
            events.append({"name": "GPU utilization (%)", "ph": "C", "ts": ts, "pid": _PID,
                           "args": {"utilization": sample.gpu_util}})
        memory = {}
        if sample.gpu_mem_used is not None:
            memory["device_used"] = round(sample.gpu_mem_used / MB, 3)
        if sample.gpu_allocated is not None:
            memory["allocated"] = round(sample.gpu_allocated / MB, 3)
        if memory:
            events.append({"name": "GPU memory (MB)", "ph": "C", "ts": ts, "pid": _PID, "args": memory})
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "session_id": session.session_id,
            "pipeline_name": session.pipeline_name,
            "source": session.source,
            "gpu": session.gpu.statement,
            "started_at": session.started_at,
        },
    }
