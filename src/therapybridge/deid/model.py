"""The de-identification's options and results: frozen dataclasses with ``to_dict()``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigurationError
from ..types import Transcript, _round

# The placeholder categories, in the order the tables list them.
CATEGORIES = ("NAME", "PLACE", "DATE", "AGE", "PHONE", "EMAIL", "ADDRESS", "URL", "ID")


@dataclass(frozen=True)
class DeidOptions:
    """How findings are made and kept.

    ``min_score``: a finding scored below it by its recogniser is dropped (Presidio's weak patterns score
    0.01-0.1; chosen on the tune half of the planted-identifier dialogues, benchmarks/bench_deid.py).
    ``entities``: the categories to remove (default all of :data:`CATEGORIES`).
    ``bleep_pad``: seconds of tone added on each side of a finding in the bleeped audio copy, so word-timing
    error (about 0.1-0.2 s for Whisper's word times) cannot let the start or end of a name through.
    ``bleep_hz`` / ``bleep_level``: the tone's frequency and its amplitude (0-1).
    """

    min_score: float = 0.35
    entities: tuple[str, ...] = CATEGORIES
    bleep_pad: float = 0.15
    bleep_hz: float = 1000.0
    bleep_level: float = 0.3

    def __post_init__(self) -> None:
        unknown = [e for e in self.entities if e not in CATEGORIES]
        if unknown:
            raise ConfigurationError(f"unknown de-identification categories {unknown}; choose from {CATEGORIES}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ConfigurationError("deid min_score must be between 0 and 1")
        if self.bleep_pad < 0 or self.bleep_hz <= 0 or not 0 < self.bleep_level <= 1:
            raise ConfigurationError("deid bleep_pad must be >= 0, bleep_hz > 0 and bleep_level in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "entities": list(self.entities)}


@dataclass(frozen=True)
class Hit:
    """One recogniser's result on a text: a character span, a category and what found it."""

    start: int
    end: int
    category: str
    recognizer: str
    score: float
    source_entity: str  # the recogniser's own entity name (PERSON, DATE_TIME, SPOKEN_PHONE, …)


@dataclass(frozen=True)
class Finding:
    """One removed stretch of the transcript: where it was and what found it, never the removed text.

    ``start``/``end`` are seconds on the recording's clock (None for a segment without word timings);
    ``segment`` and ``words`` locate it (word indices within the segment, end exclusive); ``also`` lists other
    recognisers that found an overlapping span.
    """

    placeholder: str
    category: str
    recognizer: str
    score: float
    start: float | None
    end: float | None
    segment: int
    words: tuple[int, int]
    also: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "placeholder": self.placeholder, "category": self.category, "recognizer": self.recognizer,
            "score": _round(self.score, 3), "start": _round(self.start), "end": _round(self.end),
            "segment": self.segment, "words": list(self.words), "also": list(self.also),
        }


@dataclass(frozen=True)
class DeidResult:
    """The de-identified transcript and what was removed from it."""

    transcript: Transcript
    findings: tuple[Finding, ...]
    options: DeidOptions = field(default_factory=DeidOptions)

    def counts(self) -> dict[str, int]:
        """Findings per category."""
        counts = dict.fromkeys(CATEGORIES, 0)
        for finding in self.findings:
            counts[finding.category] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [f.to_dict() for f in self.findings], "counts": self.counts(),
                "options": self.options.to_dict()}
