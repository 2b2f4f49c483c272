"""What every output format shares: the ``Writer`` interface, timestamps and subtitle cues."""

from __future__ import annotations

import abc
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from ..types import Segment, Transcript, UnrecognisedSpeech, Word

_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")


class Writer(abc.ABC):
    """One output format: a name, a file extension and a pure ``render`` from transcript to text."""

    format: ClassVar[str]
    extension: ClassVar[str]

    @abc.abstractmethod
    def render(self, transcript: Transcript) -> str:
        """The whole file's content."""

    def render_files(self, transcript: Transcript) -> dict[str, str]:
        """Every file of the format, by extension (one, ``extension``, unless a format writes several)."""
        return {self.extension: self.render(transcript)}

    def file_extensions(self) -> tuple[str, ...]:
        """The extensions of the files ``render_files`` writes."""
        return (self.extension,)


@dataclass(frozen=True)
class Cue:
    """One timed piece of text, as written to (and parsed back from) SRT, VTT and TXT."""

    start: float
    end: float
    text: str
    speaker: str | None = None


def clock(seconds: float, separator: str = ".", *, digits: int = 3) -> str:
    """``HH:MM:SS.mmm`` (``separator`` ``,`` for SRT; ``digits`` 1 for a tenth of a second)."""
    scale = 10**digits
    units = max(0, int(round(seconds * scale)))
    whole, frac = divmod(units, scale)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{frac:0{digits}d}"


def parse_clock(text: str) -> float:
    """Seconds from ``[HH:]MM:SS[.,]fff``."""
    parts = text.strip().replace(",", ".").split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2]) if len(parts) > 1 else 0
    hours = int(parts[-3]) if len(parts) > 2 else 0
    return hours * 3600 + minutes * 60 + seconds


def marker_text(span: UnrecognisedSpeech) -> str:
    """The visible stand-in for speech that could not be recognised: ``[inaudible 00:12:31–00:12:38]``."""
    return f"[inaudible {_hms(span.start)}–{_hms(span.end)}]"


def _hms(seconds: float) -> str:
    hours, rest = divmod(max(0, int(round(seconds))), 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def marker_cues(transcript: Transcript) -> list[Cue]:
    """One cue per stretch of unrecognised speech, with its speaker."""
    return [Cue(u.start, u.end, marker_text(u), u.speaker) for u in transcript.unrecognised]


def in_time_order(cues: Sequence[Cue], markers: Sequence[Cue]) -> list[Cue]:
    """``cues`` with the ``markers`` put among them by start time (a marker after cues that start with it)."""
    return sorted([*cues, *markers], key=lambda cue: cue.start)


def speaker_segments(transcript: Transcript) -> tuple[Segment, ...]:
    """The transcript's segments, split where the word speaker changes (a hand-edited JSON may mix speakers)."""
    from ..align import split_segments

    return split_segments(transcript.segments)


def subtitle_cues(transcript: Transcript, *, max_chars: int = 84, max_duration: float = 7.0) -> list[Cue]:
    """Readable subtitle cues: one speaker each, at most about ``max_chars`` characters and ``max_duration`` s.

    Long segments are cut between words (after a sentence end when one comes late enough), so a 30-second
    whisper segment becomes several cues that follow the speech.
    """
    cues: list[Cue] = []
    for segment in speaker_segments(transcript):
        text = segment.text.strip()
        if not text:
            continue
        label = transcript.speaker_label(segment.speaker) or ""
        budget = max(max_chars - len(label) - 2, max_chars // 2) if label else max_chars  # "Label: " is shown too
        fits = len(text) <= budget and segment.end - segment.start <= max_duration
        if fits or not segment.words:
            cues.append(Cue(segment.start, segment.end, text, segment.speaker))
            continue
        cues.extend(_chunk_words(segment, budget, max_duration))
    return in_time_order(cues, marker_cues(transcript))


def _chunk_words(segment: Segment, max_chars: int, max_duration: float) -> list[Cue]:
    chunks: list[list[Word]] = [[]]
    for word in segment.words:
        current = chunks[-1]
        if current and _too_long(current + [word], max_chars, max_duration):
            chunks.append([word])
            continue
        current.append(word)
        if word.word.strip().endswith(_SENTENCE_END) and len(_join(current)) >= max_chars // 3:
            chunks.append([])
    cues = []
    previous_end = segment.start
    for chunk in (c for c in chunks if c and _join(c)):
        starts = [w.start for w in chunk if w.start is not None]
        ends = [w.end for w in chunk if w.end is not None]
        start = starts[0] if starts else previous_end
        end = max(ends[-1] if ends else start, start)
        cues.append(Cue(start, end, _join(chunk), segment.speaker))
        previous_end = end
    return cues


def _too_long(words: Sequence[Word], max_chars: int, max_duration: float) -> bool:
    starts = [w.start for w in words if w.start is not None]
    ends = [w.end for w in words if w.end is not None]
    span = (ends[-1] - starts[0]) if starts and ends else 0.0
    return len(_join(words)) > max_chars or span > max_duration


def _join(words: Sequence[Word]) -> str:
    return "".join(w.word for w in words).strip()


def wrap_lines(text: str, width: int = 42) -> list[str]:
    """Subtitle lines of at most ``width`` characters (a longer single word stays whole)."""
    return textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False) or [text]
