"""The HTML transcript page: one self-contained file to read a session and check it against the recording.

Everything is inline (CSS, script; a Content-Security-Policy forbids any network request), so the page works
from ``file://``. The recording is referenced by a path relative to the page, never embedded; when it is not
there, the page offers to pick it from disk. Speakers get colours and their labels, each line its timestamp,
low-confidence words are marked for review, a search box highlights matches, the player follows along and a
click on a line seeks to it. When the transcript carries a performance profile, its stage timeline is drawn.
All transcript text is HTML-escaped.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..types import Segment, Transcript, UnrecognisedSpeech, Word
from .base import Writer, marker_text, speaker_segments

LOW_CONFIDENCE = 0.5
MIN_SUBPROCESS_SHARE = 0.005
# Colour-blind-friendly hues (Okabe-Ito and Tableau), dark enough for text on white.
SPEAKER_COLOURS = ("#0b6aa2", "#b5470b", "#1b7f5b", "#8e44ad", "#a0711c", "#c2185b", "#44546a", "#2e7d32")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@lru_cache(maxsize=1)
def _template() -> str:
    return resources.files("therapybridge.writers").joinpath("templates/transcript.html").read_text(encoding="utf-8")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def timestamp(seconds: float | None) -> str:
    """``M:SS`` below an hour, ``H:MM:SS`` above."""
    if seconds is None:
        return "–"
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def audio_reference(audio_path: str, output_dir: str | os.PathLike[str] | None) -> str:
    """The recording's path relative to the page's directory, as a URL path (``../sessions/a%20b.m4a``)."""
    target = Path(audio_path).expanduser()
    base = Path(output_dir) if output_dir is not None else Path.cwd()
    try:
        relative = os.path.relpath(target.resolve(), base.resolve())
    except ValueError:  # another drive on Windows: no relative path exists
        return target.resolve().as_uri()
    return quote(Path(relative).as_posix(), safe="/")


class HtmlWriter(Writer):
    """``format "html"``: the transcript page (see the module docstring)."""

    format = "html"
    extension = "html"

    def __init__(
        self,
        *,
        low_confidence: float = LOW_CONFIDENCE,
        output_dir: str | os.PathLike[str] | None = None,
        audio_src: str | None = None,
        title: str | None = None,
    ) -> None:
        self.low_confidence = low_confidence
        self.output_dir = output_dir
        self.audio_src = audio_src
        self.title = title  # default: the recording's file name (the de-identified page gives its own)

    def render(
        self,
        transcript: Transcript,
        *,
        output_dir: str | os.PathLike[str] | None = None,
        audio_src: str | None = None,
    ) -> str:
        """The page. ``output_dir``: where it will be written (default: the writer's, else the working directory),
        which makes the recording's relative path; ``audio_src`` gives that path outright."""
        colours = _speaker_colours(transcript)
        src = audio_src if audio_src is not None else self.audio_src
        if src is None:
            src = audio_reference(transcript.audio.path, output_dir if output_dir is not None else self.output_dir)
        lines = speaker_segments(transcript)
        low = sum(1 for s in lines for w in s.words if self._is_low(w))
        values = {
            "lang": _e(transcript.language or "en"),
            "generator": _e(f"therapybridge {__version__}"),
            "title": _e(self.title or Path(transcript.audio.path).name or "Transcript"),
            "summary": _e(_summary(transcript, len(lines))),
            "audio_src": _e(src),
            "audio_src_text": _e(src),
            "low_count": str(low),
            "legend": _legend(transcript, colours),
            "speaker_css": _speaker_css(colours),
            "lines": "\n".join(self._lines(lines, transcript, colours))
            or '<li class="empty">No speech was recognised in this recording.</li>',
            "perf": _performance(transcript.performance_metrics),
            "analytics": _analytics(transcript, colours),
        }
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _template())

    def _is_low(self, word: Word) -> bool:
        return word.probability is not None and word.probability < self.low_confidence

    def _lines(self, lines: Sequence[Segment], transcript: Transcript, colours: Mapping[str, int]) -> list[str]:
        """The segments' lines and the unrecognised-speech markers, in time order."""
        timed = [(s.start, self._line(s, transcript, colours)) for s in lines if s.text.strip() or s.words]
        timed += [(u.start, _marker_line(u, transcript, colours)) for u in transcript.unrecognised]
        return [line for _, line in sorted(timed, key=lambda item: item[0])]

    def _line(self, segment: Segment, transcript: Transcript, colours: Mapping[str, int]) -> str:
        end = segment.end if segment.end is not None else segment.start
        return _li("line", segment.start, end, segment.speaker, transcript, colours, self._text(segment))

    def _text(self, segment: Segment) -> str:
        if not segment.words:
            return _e(segment.text.strip())
        parts = []
        for word in segment.words:
            text = word.word
            lead = text[: len(text) - len(text.lstrip())]
            core = text.strip()
            if not core:
                continue
            attrs = ""
            if word.start is not None and word.end is not None:
                attrs += f' data-start="{word.start:.3f}" data-end="{word.end:.3f}"'
            classes = "w low" if self._is_low(word) else "w"
            if self._is_low(word):
                attrs += f' title="low confidence ({word.probability:.2f}): check against the audio"'
            parts.append(f'{" " if lead or parts else ""}<span class="{classes}"{attrs}>{_e(core)}</span>')
        return "".join(parts).lstrip()


def _marker_line(span: UnrecognisedSpeech, transcript: Transcript, colours: Mapping[str, int]) -> str:
    """A line that says speech was heard here but could not be recognised."""
    return _li("line unrecognised", span.start, span.end, span.speaker, transcript, colours, _e(marker_text(span)),
               title="speech was heard here but could not be recognised")


def _li(classes: str, start: float, end: float, speaker: str | None, transcript: Transcript,
        colours: Mapping[str, int], text_html: str, *, title: str = "") -> str:
    label = transcript.speaker_label(speaker) or "Unknown speaker"
    css = f" spk-{colours[speaker]}" if speaker in colours else ""
    tip = f' title="{_e(title)}"' if title else ""
    return (
        f'<li class="{classes}{css}" data-start="{start:.3f}" data-end="{end:.3f}" data-speaker="{_e(speaker or "")}">'
        f'<button class="time" type="button" title="Play from here">{timestamp(start)}</button>'
        f'<span class="speaker">{_e(label)}</span>'
        f'<span class="text"{tip}>{text_html}</span></li>'
    )


def _speaker_colours(transcript: Transcript) -> dict[str, int]:
    order = [s.id for s in transcript.speakers]
    for segment in transcript.segments:
        for speaker in [segment.speaker, *(w.speaker for w in segment.words)]:
            if speaker is not None and speaker not in order:
                order.append(speaker)
    return {speaker: i % len(SPEAKER_COLOURS) for i, speaker in enumerate(order)}


def _speaker_css(colours: Mapping[str, int]) -> str:
    used = sorted(set(colours.values()))
    return "\n".join(f".spk-{i} {{ --spk:{SPEAKER_COLOURS[i]}; }}" for i in used)


def _legend(transcript: Transcript, colours: Mapping[str, int]) -> str:
    items = []
    roles = {s.id: s.role for s in transcript.speakers}
    for speaker, index in colours.items():
        role = roles.get(speaker)
        role_html = f'<span class="role">{_e(role)}</span>' if role else ""
        label = transcript.speaker_label(speaker)
        items.append(
            f'<span class="spk-{index}"><span class="chip" style="background:var(--spk)"></span>'
            f'{_e(label)}{role_html}</span>'
        )
    return "".join(items)


def _summary(transcript: Transcript, lines: int) -> str:
    parts = [f"{timestamp(transcript.audio.duration)} recording"]
    if transcript.language:
        parts.append(f"language {transcript.language}")
    parts.append(f"{lines} lines")
    model = transcript.provenance.get("model") if transcript.provenance else None
    if model:
        parts.append(f"model {model}")
    return " · ".join(parts)


def _performance(metrics: Mapping[str, Any] | None) -> str:
    """The stage timeline (bars placed by start and length on the run's clock) when stages were recorded."""
    stages = (metrics or {}).get("stages") or {}
    if not isinstance(stages, Mapping) or not stages:
        return ""
    total = _number(metrics.get("total_duration")) or max(
        (_number(s.get("end")) or (_number(s.get("start")) or 0) + (_number(s.get("duration")) or 0))
        for s in stages.values()
    )
    total = max(total, 1e-9)
    rows = []
    for name, stage in stages.items():
        rows.append(_bar(name, stage, total, "bar-row"))
        for sub_name, sub in (stage.get("subprocesses") or {}).items():
            if (_number(sub.get("duration")) or 0.0) >= MIN_SUBPROCESS_SHARE * total:  # hide sub-steps too short to see
                rows.append(_bar(sub_name, sub, total, "bar-row sub"))
    return (
        f'<section class="perf" id="performance"><h2>Performance timeline · total {total:.2f} s</h2>'
        + "".join(rows)
        + "</section>"
    )


def _bar(name: str, entry: Mapping[str, Any], total: float, css: str) -> str:
    duration = _number(entry.get("duration")) or 0.0
    start = _number(entry.get("start")) or 0.0
    left = min(max(start / total, 0.0), 1.0) * 100
    width = min(duration / total * 100, 100 - left)
    return (
        f'<div class="{css}"><span>{_e(name)}</span><div class="bar-track">'
        f'<div class="bar" style="left:{left:.2f}%;width:{width:.2f}%"></div></div>'
        f'<span class="num">{duration:.2f} s · {duration / total:.0%}</span></div>'
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _analytics(transcript: Transcript, colours: Mapping[str, int]) -> str:
    """The session analytics: a table of the figures and four inline-SVG plots (therapybridge.analytics.plots)."""
    from ..analytics import analytics_of
    from ..analytics.plots import latency_histogram, silence_map, talk_time_bars, turn_timeline

    analytics = analytics_of(transcript)
    hues = {speaker: SPEAKER_COLOURS[index] for speaker, index in colours.items()}
    rows = []
    for party in analytics.speakers:
        rows.append(
            f"<tr><th>{_e(party.label)}</th><td>{timestamp(party.talk_time)} · {party.talk_share or 0:.0%}</td>"
            f"<td>{party.turns}</td><td>{_seconds(party.median_turn)}</td>"
            f"<td>{_seconds(party.longest_monologue.duration if party.longest_monologue else None)}</td>"
            f"<td>{_fixed(party.words_per_minute, 0)}</td><td>{_percent(party.question_share)}</td>"
            f"<td>{party.interruptions}</td><td>{party.backchannels}</td></tr>"
        )
    inter, silence = analytics.interaction, analytics.silence
    facts = [
        ("median response", _seconds(inter.latency.median)), ("90th percentile", _seconds(inter.latency.p90)),
        ("interruptions", str(inter.interruptions)), ("overlapped speech", _seconds(inter.overlap_time)),
        ("backchannels / min", _fixed(inter.backchannels_per_minute, 2)),
        ("silence", f"{timestamp(silence.total)} · {silence.share or 0:.0%}"),
        (f"silences ≥ {analytics.options.long_silence:g} s", str(len(silence.long))),
    ]
    return (
        '<section class="analytics" id="analytics"><h2>Session analytics</h2>'
        '<table class="figures"><thead><tr><th>speaker</th><th>talk time</th><th>turns</th><th>median turn</th>'
        "<th>longest monologue</th><th>words/min</th><th>questions</th><th>interruptions</th><th>backchannels</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        '<dl class="facts">' + "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts) + "</dl>"
        f"<h3>Talk time</h3>{talk_time_bars(analytics, hues)}"
        f"<h3>Turns</h3>{turn_timeline(analytics, hues)}"
        f"<h3>Response latency</h3>{latency_histogram(analytics)}"
        f"<h3>Silence</h3>{silence_map(analytics)}</section>"
    )


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s" if abs(value) < 10 else f"{value:.0f} s"


def _fixed(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def render_html(transcript: Transcript, output_dir: str | os.PathLike[str] | None = None) -> str:
    """Convenience: the page for ``transcript`` written into ``output_dir``."""
    return HtmlWriter().render(transcript, output_dir=output_dir)


__all__: Sequence[str] = ("HtmlWriter", "LOW_CONFIDENCE", "audio_reference", "render_html", "timestamp")
