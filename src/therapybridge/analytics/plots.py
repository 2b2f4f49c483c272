"""The analytics drawn as inline SVG (no script, no network): talk-time bars, a turn timeline per speaker, the
response-latency histogram and the silence map. Each function returns one ``<svg>`` element with an
``aria-label`` and a ``data-plot`` name; labels are HTML-escaped. Colours come from the caller (speaker -> CSS).
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from .model import SessionAnalytics

WIDTH = 880
LEFT = 170  # room for the speaker labels
RIGHT = 16
NEUTRAL = "#5b6770"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _clock(seconds: float) -> str:
    whole = max(0, int(round(seconds)))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _svg(name: str, label: str, height: int, body: str) -> str:
    return (f'<svg class="plot" data-plot="{name}" role="img" aria-label="{_e(label)}" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{_e(label)}</title>{body}</svg>")


def _time_axis(duration: float, y: int) -> str:
    """Tick marks and clock labels along the session at about six even steps."""
    span = WIDTH - LEFT - RIGHT
    steps = (30, 60, 120, 300, 600, 900, 1800, 3600)
    step = next((s for s in steps if duration / s <= 8), 7200)
    parts = [f'<line class="axis" x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#9aa0a6"/>']
    t = 0.0
    while t <= duration + 1e-9 and duration > 0:
        x = LEFT + span * t / duration
        parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#9aa0a6"/>'
                     f'<text x="{x:.1f}" y="{y + 16}" font-size="11" text-anchor="middle" fill="#656d76">'
                     f"{_clock(t)}</text>")
        t += step
    return "".join(parts)


def _x(t: float, duration: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (min(max(t, 0.0), duration) / duration if duration > 0 else 0.0)


def talk_time_bars(analytics: SessionAnalytics, colours: Mapping[str | None, str]) -> str:
    """One bar per speaker, its length the speaker's share of the talk time."""
    rows = []
    span = WIDTH - LEFT - 150
    for k, party in enumerate(analytics.speakers):
        y = 10 + 30 * k
        share = party.talk_share or 0.0
        width = max(span * share, 1.0)
        rows.append(
            f'<text x="{LEFT - 10}" y="{y + 15}" font-size="13" text-anchor="end" fill="#1f2328">{_e(party.label)}</text>'
            f'<rect class="mark" x="{LEFT}" y="{y}" width="{width:.1f}" height="20" rx="3" '
            f'fill="{colours.get(party.id, NEUTRAL)}"><title>{_e(party.label)}: {party.talk_time:.0f} s</title></rect>'
            f'<text x="{LEFT + width + 8:.1f}" y="{y + 15}" font-size="12" fill="#1f2328">{share:.0%} · '
            f"{_clock(party.talk_time)}</text>"
        )
    height = 20 + 30 * max(len(analytics.speakers), 1)
    return _svg("talk-time", "Talk time by speaker", height, "".join(rows))


def turn_timeline(analytics: SessionAnalytics, colours: Mapping[str | None, str]) -> str:
    """A row per speaker with a block for each turn and a tick for each backchannel, along the session."""
    duration = analytics.duration
    rows = []
    for k, party in enumerate(analytics.speakers):
        y = 8 + 28 * k
        colour = colours.get(party.id, NEUTRAL)
        rows.append(f'<text x="{LEFT - 10}" y="{y + 14}" font-size="13" text-anchor="end" fill="#1f2328">'
                    f'{_e(party.label)}</text><rect x="{LEFT}" y="{y}" width="{WIDTH - LEFT - RIGHT}" height="20" '
                    f'fill="#eef0f2"/>')
        for turn in (t for t in analytics.turns if t.speaker == party.id):
            x0, x1 = _x(turn.start, duration), _x(turn.end, duration)
            rows.append(f'<rect class="mark" x="{x0:.2f}" y="{y}" width="{max(x1 - x0, 0.6):.2f}" height="20" '
                        f'fill="{colour}"><title>{_clock(turn.start)}–{_clock(turn.end)}</title></rect>')
        for bc in (b for b in analytics.backchannels if b.speaker == party.id):
            x = _x(bc.start, duration)
            rows.append(f'<rect class="mark backchannel" x="{x:.2f}" y="{y + 14}" width="1.5" height="6" '
                        f'fill="{colour}" opacity="0.7"/>')
    axis_y = 8 + 28 * max(len(analytics.speakers), 1) + 4
    return _svg("turn-timeline", "Turns of each speaker over the session", axis_y + 22,
                "".join(rows) + _time_axis(duration, axis_y))


def latency_histogram(analytics: SessionAnalytics) -> str:
    """Counts of response latencies per bin; a line at zero (left of it: answers that began in overlap)."""
    latency = analytics.interaction.latency
    counts, edges = latency.counts, latency.edges
    top = max(counts, default=0) or 1
    left, plot_w, plot_h, base = 60, WIDTH - 60 - RIGHT, 110, 130
    bar_w = plot_w / max(len(counts), 1)
    parts = [f'<line class="axis" x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#9aa0a6"/>']
    for k, count in enumerate(counts):
        if count:
            h = plot_h * count / top
            parts.append(f'<rect class="mark" x="{left + k * bar_w + 1:.1f}" y="{base - h:.1f}" width="{bar_w - 2:.1f}" '
                         f'height="{h:.1f}" fill="#4c78a8"><title>{edges[k]:+.2f} to {edges[k + 1]:+.2f} s: '
                         f"{count}</title></rect>")
    for k, edge in enumerate(edges):
        if k % 4 == 0:
            x = left + k * bar_w
            parts.append(f'<text x="{x:.1f}" y="{base + 16}" font-size="11" text-anchor="middle" fill="#656d76">'
                         f"{edge:+.0f} s</text>")
    if edges and edges[0] < 0 < edges[-1]:
        zero = left + plot_w * (0 - edges[0]) / (edges[-1] - edges[0])
        parts.append(f'<line x1="{zero:.1f}" y1="{base - plot_h - 5}" x2="{zero:.1f}" y2="{base}" stroke="#1f2328" '
                     f'stroke-dasharray="3 3"/>')
    parts.append(f'<text x="{left - 8}" y="{base - plot_h + 10}" font-size="11" text-anchor="end" fill="#656d76">'
                 f"{top}</text><text x=\"{left - 8}\" y=\"{base}\" font-size=\"11\" text-anchor=\"end\" "
                 f'fill="#656d76">0</text>')
    if not latency.count:
        parts.append(f'<text x="{left + plot_w / 2}" y="{base - 60}" font-size="13" text-anchor="middle" '
                     f'fill="#656d76">no speaker changes</text>')
    return _svg("latency", "Response latency histogram", base + 24, "".join(parts))


def silence_map(analytics: SessionAnalytics) -> str:
    """A strip along the session, darker where more of each bin is silent; long silences outlined below it."""
    silence, duration = analytics.silence, analytics.duration
    parts = [f'<text x="{LEFT - 10}" y="24" font-size="13" text-anchor="end" fill="#1f2328">silent share</text>']
    for k, share in enumerate(silence.map):
        x0 = _x(k * silence.bin_seconds, duration)
        x1 = _x((k + 1) * silence.bin_seconds, duration)
        parts.append(f'<rect class="mark bin" x="{x0:.2f}" y="8" width="{max(x1 - x0, 0.5):.2f}" height="24" '
                     f'fill="#44546a" fill-opacity="{0.06 + 0.94 * share:.3f}"><title>{_clock(k * silence.bin_seconds)}: '
                     f"{share:.0%} silent</title></rect>")
    parts.append(f'<text x="{LEFT - 10}" y="54" font-size="13" text-anchor="end" fill="#1f2328">silences ≥ '
                 f"{analytics.options.long_silence:g} s</text>")
    parts.append(f'<rect x="{LEFT}" y="40" width="{WIDTH - LEFT - RIGHT}" height="18" fill="#eef0f2"/>')
    for gap in silence.long:
        x0, x1 = _x(gap.start, duration), _x(gap.end, duration)
        parts.append(f'<rect class="mark long" x="{x0:.2f}" y="40" width="{max(x1 - x0, 1.5):.2f}" height="18" '
                     f'fill="#c2410c"><title>{_clock(gap.start)}–{_clock(gap.end)} ({gap.duration:.1f} s)</title></rect>')
    return _svg("silence-map", "Silence over the session", 84, "".join(parts) + _time_axis(duration, 62))
