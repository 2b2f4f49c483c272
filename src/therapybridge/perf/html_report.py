"""A self-contained HTML report: stage timeline, memory and GPU plots, tables. Inline CSS, SVG and a few lines
of JS; a Content-Security-Policy forbids every network request, so opening it never leaks anything."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from .session import MB, PerformanceSession, Span
from .trace import assign_lanes

__all__ = ["render_html"]

_WIDTH = 1000
_LABEL = 0
_ROW = 20
_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.meta{color:#555} .banner{padding:8px 12px;border-radius:6px;margin:12px 0;background:#e8f1fb;border:1px solid #b8d3f0}
.banner.nogpu{background:#fff4e0;border-color:#f0c878}
.banner.overlap{background:#f3eefb;border-color:#cdb8f0}
table{border-collapse:collapse;background:#fff;margin:6px 0}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left} td.n{text-align:right;font-variant-numeric:tabular-nums}
svg{background:#fff;border:1px solid #ddd} .bar{cursor:pointer} .bar:hover{opacity:.8}
.bar.err rect{stroke:#c00;stroke-width:2} text{font:11px system-ui,sans-serif} .axis{stroke:#999}
#details{background:#fff;border:1px solid #ddd;padding:8px;min-height:2em;white-space:pre-wrap}
"""

_JS = """
document.querySelectorAll('.bar').forEach(function(bar){
  bar.addEventListener('click', function(){
    document.getElementById('details').textContent = JSON.stringify(JSON.parse(bar.dataset.info), null, 2);
  });
});
"""


def _stage_colors(spans: Sequence[Span]) -> dict[str, str]:
    """One palette colour per stage name, in order of first appearance (distinct for up to 9 stages)."""
    names = list(dict.fromkeys(s.name for s in sorted(spans, key=lambda s: (s.start_ns, s.id)) if s.kind == "stage"))
    return {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(names)}


def _nice_step(span: float, target: int = 8) -> float:
    raw = max(span, 1e-9) / target
    magnitude = 10 ** int(f"{raw:e}".split("e")[1])
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _time_axis(total_s: float, x0: float, width: float, y: float) -> list[str]:
    step = _nice_step(total_s)
    parts = [f'<line class="axis" x1="{x0}" y1="{y}" x2="{x0 + width}" y2="{y}"/>']
    tick = 0.0
    while tick <= total_s + 1e-12:
        x = x0 + width * (tick / total_s if total_s else 0)
        parts.append(f'<line class="axis" x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}"/>')
        parts.append(f'<text x="{x:.1f}" y="{y + 15}" text-anchor="middle">{tick:g}s</text>')
        tick += step
    return parts


def _depths(spans: Sequence[Span]) -> dict[int, int]:
    parents = {s.id: s.parent for s in spans}
    depths: dict[int, int] = {}
    for span in spans:
        depth, cursor = 0, span.parent
        while cursor is not None and depth < 64:
            depth += 1
            cursor = parents.get(cursor)
        depths[span.id] = depth
    return depths


def _stage_of(span: Span, by_id: Mapping[int, Span]) -> str:
    cursor: Span | None = span
    while cursor is not None and cursor.kind not in ("stage", "pipeline"):
        cursor = by_id.get(cursor.parent) if cursor.parent is not None else None
    return cursor.name if cursor is not None else span.name


def _timeline(session: PerformanceSession) -> str:
    spans = list(session.spans)
    total = max(session.wall_duration_ns, 1)
    lanes = assign_lanes(spans)
    depths = _depths(spans)
    by_id = {s.id: s for s in spans}
    colors = _stage_colors(spans)
    margin, plot_w = 14, _WIDTH - 28
    rows: dict[tuple[int, int], int] = {}
    for key in sorted({(lanes[s.id], depths[s.id]) for s in spans}):
        rows[key] = len(rows)
    height = len(rows) * _ROW + 30
    parts = [f'<svg id="timeline" viewBox="0 0 {_WIDTH} {height}" width="100%" role="img" '
             'aria-label="Stage timeline">']
    for span in sorted(spans, key=lambda s: (s.start_ns, s.id)):
        row = rows[(lanes[span.id], depths[span.id])]
        x = margin + plot_w * span.start_ns / total
        w = max(plot_w * span.duration_ns / total, 1.0)
        y = row * _ROW + 2
        fill = "#8a8a8a" if span.kind == "pipeline" else colors.get(_stage_of(span, by_id), "#9c755f")
        opacity = "1" if span.kind in ("stage", "pipeline") else "0.75"
        info = {
            "name": span.name, "kind": span.kind, "start_s": round(span.start_ns / 1e9, 6),
            "duration_s": round(span.duration_ns / 1e9, 6), "thread": span.thread, "error": span.error,
            "metadata": dict(span.metadata),
            "rss_after_mb": None if span.rss_after is None else round(span.rss_after / MB, 1),
        }
        title = f"{span.name} ({span.kind}): {span.duration_ns / 1e9:.3f}s from {span.start_ns / 1e9:.3f}s"
        css = "bar err" if span.error else "bar"
        parts.append(
            f'<g class="{css}" data-info="{escape(json.dumps(info), quote=True)}">'
            f'<title>{escape(title)}</title>'
            f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{_ROW - 4}" fill="{fill}" fill-opacity="{opacity}" stroke="#fff" stroke-width="0.6"/>'
        )
        if w > 60:
            label = span.name if len(span.name) * 6.5 < w else span.name[: max(int(w / 6.5) - 1, 1)] + "…"
            parts.append(f'<text x="{x + 3:.2f}" y="{y + 12}" fill="#fff">{escape(label)}</text>')
        parts.append("</g>")
    parts.extend(_time_axis(total / 1e9, margin, plot_w, len(rows) * _ROW + 4))
    parts.append("</svg>")
    return "".join(parts)


def _line_plot(title: str, series: Sequence[tuple[str, str, Sequence[tuple[float, float]]]], total_s: float,
               unit: str) -> str:
    points = [v for _, _, pts in series for _, v in pts]
    if not points:
        return ""
    height, left, plot_w, plot_h = 180, 50, _WIDTH - 60, 130
    top = max(max(points), 1e-9) * 1.1
    parts = [f'<svg viewBox="0 0 {_WIDTH} {height}" width="100%" role="img" aria-label="{escape(title)}">',
             f'<text x="{left}" y="14">{escape(title)}</text>',
             f'<line class="axis" x1="{left}" y1="20" x2="{left}" y2="{20 + plot_h}"/>']
    for frac in (0, 0.5, 1):
        y = 20 + plot_h * (1 - frac)
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{top * frac:.0f}</text>')
    for index, (name, color, pts) in enumerate(series):
        coords = " ".join(
            f"{left + plot_w * (t / total_s if total_s else 0):.1f},{20 + plot_h * (1 - v / top):.1f}" for t, v in pts
        )
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{coords}"/>')
        parts.append(f'<text x="{left + 10 + 160 * index}" y="{height - 4}" fill="{color}">{escape(name)} ({unit})</text>')
    parts.extend(_time_axis(total_s, left, plot_w, 20 + plot_h))
    parts.append("</svg>")
    return "".join(parts)


def _plots(session: PerformanceSession) -> str:
    total_s = session.wall_duration_ns / 1e9
    samples = session.samples

    def series(attr: str, scale: float) -> list[tuple[float, float]]:
        return [(s.t_ns / 1e9, getattr(s, attr) / scale) for s in samples if getattr(s, attr) is not None]

    blocks = [_line_plot("Process memory (RSS)", [("RSS", "#4e79a7", series("rss", MB))], total_s, "MB")]
    if session.gpu.present:
        blocks.append(_line_plot("GPU utilization", [("utilization", "#e15759", series("gpu_util", 1))],
                                 total_s, "%"))
        blocks.append(_line_plot("GPU memory", [("device used", "#f28e2b", series("gpu_mem_used", MB)),
                                                ("allocated by this process", "#59a14f",
                                                 series("gpu_allocated", MB))], total_s, "MB"))
        if session.gpu.backend == "mps":
            blocks.append("<p>Apple MPS reports no utilization counter, so no utilization is shown.</p>")
    else:
        blocks.append(f"<p>{escape(session.gpu.statement)} No GPU plots.</p>")
    if not samples:
        blocks.append("<p>No background samples were taken (sampling was off or the run was shorter than one "
                      "interval).</p>")
    return "".join(b for b in blocks if b)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for value in row:
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cells.append(f'<td class="n">{value}</td>' if numeric else f"<td>{escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _fmt(value: Any, pattern: str = "{:.3f}") -> Any:
    return "n/a" if value is None else pattern.format(value)


def _stage_rows(metrics: Mapping[str, Any]) -> list[list[Any]]:
    rows = []
    for name, stage in metrics["stages"].items():
        gpu = stage["gpu_stats"]
        gpu_text = (
            f"{_fmt(gpu.get('utilization_mean'), '{:.1f}%')} / {_fmt(gpu.get('allocated_max_mb'), '{:.1f}MB')}"
            if gpu.get("available") else "none"
        )
        rows.append([name, _fmt(stage["start"]), _fmt(stage["duration"]), _fmt(stage["percent_of_total"], "{:.1f}%"),
                     _fmt(stage["cpu"].get("utilization_percent"), "{:.0f}%"),
                     _fmt(stage["memory"].get("rss_peak_mb"), "{:.1f}"), gpu_text])
        rows.extend(_subprocess_rows(stage["subprocesses"], 1))
    return rows


def _subprocess_rows(subprocesses: Mapping[str, Any], depth: int) -> list[list[Any]]:
    rows = []
    for name, entry in subprocesses.items():
        label = "\u2003" * depth + name + (f" ×{entry['count']}" if entry["count"] > 1 else "")
        if entry.get("errors"):
            label += " (failed)"
        rows.append([label, _fmt(entry["start"]), _fmt(entry["duration"]),
                     _fmt(entry["percent_of_parent"], "{:.1f}% of parent"),
                     _fmt(entry["cpu"].get("utilization_percent"), "{:.0f}%"),
                     _fmt(entry["memory"].get("rss_peak_mb"), "{:.1f}"), ""])
        rows.extend(_subprocess_rows(entry.get("subprocesses", {}), depth + 1))
    return rows


def _system_value(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if key == "memory_total" and isinstance(value, int):
        return f"{value / 1024**3:.1f} GiB"
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def render_html(session: PerformanceSession) -> str:
    metrics = session.metrics()
    concurrency = metrics["concurrency"]
    gpu_class = "banner" if session.gpu.present else "banner nogpu"
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>Performance report: {escape(session.pipeline_name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Performance report: {escape(session.pipeline_name)}</h1>",
        f"<div class=\"meta\">Session {escape(session.session_id)} · started {escape(session.started_at)}"
        + (f" · source {escape(session.source)}" if session.source else "")
        + f" · total <b>{metrics['total_duration']:.3f}s</b></div>",
        f"<div class=\"{gpu_class}\" id=\"gpu-statement\">{escape(session.gpu.statement)}</div>",
    ]
    if concurrency["stages_overlap"]:
        pairs = "; ".join(f"{' & '.join(p['stages'])} ({p['seconds']:.3f}s)" for p in concurrency["overlaps"])
        parts.append(
            f"<div class=\"banner overlap\">Stages overlap: {escape(pairs)}. Percentages are of total wall time and "
            f"add up to {concurrency['sum_percent_of_total']:.1f}%. Critical path: "
            f"{escape(' → '.join(concurrency['critical_path']))} = {concurrency['critical_path_duration']:.3f}s.</div>"
        )
    parts += [
        "<h2>Timeline</h2>", _timeline(session),
        "<p class=\"meta\">Click a bar for its details.</p><div id=\"details\"></div>",
        "<h2>Stages</h2>",
        _table(["stage / subprocess", "start (s)", "duration (s)", "share", "CPU", "RSS peak (MB)", "GPU util / mem"],
               _stage_rows(metrics)),
        "<h2>Memory and GPU</h2>", _plots(session),
        "<h2>Top subprocess timings</h2>",
        _table(["name", "total (s)", "count", "average (s)"],
               [[e["name"], _fmt(e["total"]), e["count"], _fmt(e["average"])] for e in metrics["top_subprocesses"]]),
    ]
    if session.sources:
        parts += ["<h2>Files</h2>", _table(["file", "total (s)"],
                                           [[s.get("source") or s["session_id"], _fmt(s["total_duration"])]
                                            for s in session.sources])]
    overhead = metrics["overhead"]
    parts += [
        "<h2>System</h2>",
        _table(["item", "value"], [[k, _system_value(k, v)] for k, v in session.system_info.items()]),
        f"<p class=\"meta\">Profiler bookkeeping: {overhead['bookkeeping_seconds']:.6f}s CPU "
        f"({overhead['share_of_total_percent']:.3f}% of total, {overhead['events']} events).</p>",
        f"<script>{_JS}</script></body></html>\n",
    ]
    return "".join(parts)
