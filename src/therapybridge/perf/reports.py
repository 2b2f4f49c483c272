"""Renderers: console summary, text report, JSON, Chrome trace and HTML, all from one PerformanceSession.

``write_reports(session, output_dir, stem)`` writes ``<stem>.perf.json``, ``<stem>.perf.txt``,
``<stem>.trace.json`` and ``<stem>.perf.html`` atomically (temporary file + rename) with mode 0600, since the
figures describe a client's session. ``render_reports_from_json(path)`` re-renders them from a saved JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import OutputError
from .session import PerformanceSession, PerfUsageError

__all__ = [
    "REPORT_FORMATS",
    "render_console_summary",
    "render_html",
    "render_json",
    "render_reports_from_json",
    "render_text",
    "render_trace_json",
    "write_reports",
]

_RULE = "-" * 40


def render_json(session: PerformanceSession) -> str:
    return session.to_json(indent=2) + "\n"


def render_trace_json(session: PerformanceSession) -> str:
    from .trace import render_trace

    return json.dumps(render_trace(session), ensure_ascii=False) + "\n"


def render_html(session: PerformanceSession) -> str:
    from .html_report import render_html as _render

    return _render(session)


def _stage_line(name: str, seconds: float, percent: float, indent: int) -> str:
    pad = 2 + 2 * indent
    prefix = " " * pad + ("- " if indent else "")
    width = max(33 - len(prefix), len(name) + 1)
    return f"{prefix}{name:<{width}}{seconds:>8.3f}s ({percent:5.1f}%)"


def _gpu_line(stats: Mapping[str, Any]) -> str:
    if not stats.get("available"):
        return "    GPU: none present" if stats.get("backend") == "none" else "    GPU: not monitored"
    util = stats.get("utilization_mean")
    util_text = "n/a" if util is None else f"{util:.1f}% (max {stats.get('utilization_max', 0):.1f}%)"
    memory = stats.get("allocated_max_mb")
    if memory is None:
        memory = stats.get("memory_used_max_mb")
    memory_text = "n/a" if memory is None else f"{memory:.1f}MB"
    device = stats.get("device") or stats.get("backend")
    return f"    GPU: {stats.get('backend')} ({device}) - Util: {util_text} Mem: {memory_text}"


def _resource_line(stage: Mapping[str, Any]) -> str:
    cpu = stage.get("cpu", {}).get("utilization_percent")
    memory = stage.get("memory", {})
    parts = []
    if cpu is not None:
        parts.append(f"CPU: {cpu:.0f}% of one core")
    if memory.get("rss_before_mb") is not None and memory.get("rss_after_mb") is not None:
        parts.append(
            f"RSS: {memory['rss_before_mb']:.1f} -> {memory['rss_after_mb']:.1f}MB (peak {memory['rss_peak_mb']:.1f}MB)"
        )
    return "    " + "  ".join(parts) if parts else ""


def _subprocess_lines(subprocesses: Mapping[str, Any], indent: int) -> list[str]:
    lines = []
    for name, entry in subprocesses.items():
        label = name if entry["count"] == 1 else f"{name} x{entry['count']}"
        if entry.get("errors"):
            label += f" [failed: {', '.join(sorted(set(entry['errors'])))}]"
        lines.append(_stage_line(label, entry["duration"], entry["percent_of_parent"], indent))
        lines.extend(_subprocess_lines(entry.get("subprocesses", {}), indent + 1))
    return lines


def _header(session: PerformanceSession, metrics: Mapping[str, Any]) -> list[str]:
    lines = ["PERFORMANCE SUMMARY", "=" * 18, f"Pipeline: {session.pipeline_name}   Session: {session.session_id}"]
    if session.source:
        lines.append(f"Source: {session.source}")
    if session.sources:
        lines.append(f"Files: {len(session.sources)} (combined batch report)")
    lines.append(f"Total Time: {metrics['total_duration']:.2f}s")
    lines.append(session.gpu.statement)
    return lines


def _concurrency_lines(metrics: Mapping[str, Any]) -> list[str]:
    concurrency = metrics["concurrency"]
    if not concurrency["stages_overlap"]:
        return []
    pairs = "; ".join(f"{' & '.join(p['stages'])} for {p['seconds']:.3f}s" for p in concurrency["overlaps"])
    return [
        "",
        f"Stages overlap (ran concurrently): {pairs}.",
        f"Stage percentages are of total wall time and add up to {concurrency['sum_percent_of_total']:.1f}%.",
        f"Critical path: {' -> '.join(concurrency['critical_path'])} = "
        f"{concurrency['critical_path_duration']:.3f}s ({concurrency['critical_path_percent_of_total']:.1f}% of total)",
    ]


def render_console_summary(session: PerformanceSession, metrics: Mapping[str, Any] | None = None) -> str:
    """The short summary the seed prints at the end of a run."""
    metrics = metrics or session.metrics()
    lines = _header(session, metrics) + ["", "Stage Timings:"]
    for name, stage in metrics["stages"].items():
        lines.append(f"  {name:<26}{stage['duration']:.2f}s ({stage['percent_of_total']:.1f}%)")
    lines.extend(_concurrency_lines(metrics))
    return "\n".join(lines)


def render_text(session: PerformanceSession) -> str:
    """The full text report: summary, stage breakdown with subprocesses, top subprocesses, overhead."""
    metrics = session.metrics()
    lines = [render_console_summary(session, metrics), "", "Stage Breakdown:", _RULE]
    for name, stage in metrics["stages"].items():
        label = name if stage["count"] == 1 else f"{name} x{stage['count']}"
        if stage.get("errors"):
            label += f" [failed: {', '.join(sorted(set(stage['errors'])))}]"
        lines.append(_stage_line(label, stage["duration"], stage["percent_of_total"], 0))
        lines.extend(_subprocess_lines(stage["subprocesses"], 1))
        resources = _resource_line(stage)
        if resources:
            lines.append(resources)
        lines.append(_gpu_line(stage["gpu_stats"]))
    if metrics.get("unstaged_subprocesses"):
        lines += ["", "Outside any stage:", _RULE]
        lines.extend(_subprocess_lines(metrics["unstaged_subprocesses"], 1))
    lines += ["", "Top Subprocess Timings:", _RULE]
    for entry in metrics["top_subprocesses"]:
        lines.append(
            f"  {entry['name']:<30} Total: {entry['total']:.3f}s Count: {entry['count']} Avg: {entry['average']:.3f}s"
        )
    if session.sources:
        lines += ["", "Files:", _RULE]
        for source in session.sources:
            lines.append(f"  {str(source.get('source') or source['session_id']):<30} {source['total_duration']:.3f}s")
    overhead = metrics["overhead"]
    memory = metrics["memory"]
    lines += ["", "Resources:", _RULE]
    if memory.get("rss_peak_mb") is not None:
        lines.append(f"  Process RSS peak: {memory['rss_peak_mb']:.1f}MB")
    if metrics["cpu"].get("utilization_percent") is not None:
        lines.append(f"  Process CPU: {metrics['cpu']['utilization_percent']:.0f}% of one core over the run")
    lines.append(
        f"  Profiler overhead: {overhead['bookkeeping_seconds']:.6f}s CPU "
        f"({overhead['share_of_total_percent']:.3f}% of total, {overhead['events']} events; "
        f"{overhead.get('bookkeeping_wall_seconds', 0.0):.6f}s wall)"
    )
    info = session.system_info
    lines.append(
        f"  System: Python {info.get('python_version')}, torch {info.get('torch_version') or 'not loaded'}, "
        f"{info.get('cpu_count')} CPUs"
    )
    return "\n".join(lines) + "\n"


_RENDERERS: dict[str, tuple[str, Callable[[PerformanceSession], str]]] = {
    "json": (".perf.json", render_json),
    "txt": (".perf.txt", render_text),
    "trace": (".trace.json", render_trace_json),
    "html": (".perf.html", render_html),
}
REPORT_FORMATS = tuple(_RENDERERS)


def _write_atomic(path: Path, text: str) -> None:
    """Write to a 0600 temporary file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_reports(
    session: PerformanceSession,
    output_dir: str | os.PathLike[str],
    stem: str,
    formats: Iterable[str] = REPORT_FORMATS,
    *,
    redact_paths: bool = False,
) -> list[Path]:
    """Write the chosen reports as ``<output_dir>/<stem><ext>`` and return their paths, in ``formats`` order."""
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in _RENDERERS]
    if unknown:
        raise PerfUsageError(f"Unknown report format(s) {unknown}; choose from {', '.join(REPORT_FORMATS)}.")
    if redact_paths:
        session = session.redacted()
    directory = Path(output_dir)
    written = []
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for fmt in wanted:
            suffix, render = _RENDERERS[fmt]
            path = directory / f"{stem}{suffix}"
            _write_atomic(path, render(session))
            written.append(path)
    except OSError as exc:
        raise OutputError(
            f"Cannot write performance reports to {os.fspath(directory)!r}: {exc.strerror or exc}; "
            "choose a writable output directory."
        ) from exc
    return written


def render_reports_from_json(
    path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str] | None = None,
    formats: Iterable[str] = ("txt", "trace", "html"),
    *,
    redact_paths: bool = False,
) -> list[Path]:
    """Re-render reports from a saved ``<stem>.perf.json`` (``therapybridge report X.perf.json``)."""
    source = Path(path)
    session = PerformanceSession.load(source)
    name = source.name
    stem = name[: -len(".perf.json")] if name.endswith(".perf.json") else source.stem
    return write_reports(session, output_dir or source.parent, stem, formats, redact_paths=redact_paths)
