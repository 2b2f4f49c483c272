"""The analytics' options and results: frozen dataclasses with ``to_dict()`` / ``from_dict()``.

Times are seconds on the original recording's clock; shares are fractions in [0, 1]; a figure that cannot be
measured (a median of no turns) is None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import ConfigurationError, TranscriptFormatError
from ..types import _round as _r

# Bumped when a figure's definition or the layout of ``SessionAnalytics.to_dict()`` changes.
ANALYTICS_VERSION = "1"


@dataclass(frozen=True)
class AnalyticsOptions:
    """The constants of the definitions in :mod:`therapybridge.analytics` (section ``[analytics]`` of a config file).

    ``enabled``: compute the ``analytics`` section of every transcript. ``turn_pause``: a speaker's pause shorter
    than this continues their turn. A backchannel lasts at most ``backchannel_max_duration`` s and has at most
    ``backchannel_max_words`` words. An interruption starts at least ``interruption_min_overlap`` s before the other
    speaker's turn ends. Silences of at least ``long_silence`` s are listed. The silence map has bins of
    ``silence_map_bin`` s; the latency histogram bins of ``latency_bin`` s from ``latency_min`` to ``latency_max``
    (the first and last bins also count the latencies beyond them).
    """

    enabled: bool = True
    turn_pause: float = 2.0
    backchannel_max_duration: float = 1.0
    backchannel_max_words: int = 2
    interruption_min_overlap: float = 0.2
    long_silence: float = 5.0
    silence_map_bin: float = 10.0
    latency_bin: float = 0.25
    latency_min: float = -2.0
    latency_max: float = 4.0

    def __post_init__(self) -> None:
        for name in ("turn_pause", "backchannel_max_duration", "long_silence", "silence_map_bin", "latency_bin"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigurationError(f"analytics {name} must be a positive number of seconds, not {value!r}")
        if not isinstance(self.backchannel_max_words, int) or self.backchannel_max_words < 0:
            raise ConfigurationError(
                f"analytics backchannel_max_words must be a whole number >= 0, not {self.backchannel_max_words!r}"
            )
        if not self.interruption_min_overlap >= 0:
            raise ConfigurationError("analytics interruption_min_overlap must be >= 0 seconds")
        if not self.latency_max - self.latency_min >= self.latency_bin:
            raise ConfigurationError("analytics latency_max must exceed latency_min by at least one latency_bin")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "AnalyticsOptions":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the session; ``speaker`` when it is one speaker's (a turn, a backchannel, a monologue)."""

    start: float
    end: float
    speaker: str | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"start": _r(self.start), "end": _r(self.end), "duration": _r(self.duration)}
        if self.speaker is not None:
            data["speaker"] = self.speaker
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Span":
        return cls(float(data["start"]), float(data["end"]), data.get("speaker"))


def _span(data: Any) -> Span | None:
    return None if data is None else Span.from_dict(data)


@dataclass(frozen=True)
class PartyStats:
    """The figures of one speaker (``id`` their speaker id) or of one role (``id`` the role, all its speakers)."""

    id: str | None
    label: str
    role: str | None
    talk_time: float
    talk_share: float | None
    turns: int
    median_turn: float | None
    longest_turn: Span | None
    words: int
    words_per_minute: float | None
    utterances: int
    questions: int
    question_share: float | None
    longest_monologue: Span | None
    backchannels: int
    interruptions: int
    interrupted: int
    speakers: tuple[str | None, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = {
            "id": self.id, "label": self.label, "role": self.role,
            "talk_time": _r(self.talk_time), "talk_share": _r(self.talk_share, 4),
            "turns": self.turns, "median_turn": _r(self.median_turn),
            "longest_turn": self.longest_turn.to_dict() if self.longest_turn else None,
            "words": self.words, "words_per_minute": _r(self.words_per_minute, 1),
            "utterances": self.utterances, "questions": self.questions, "question_share": _r(self.question_share, 4),
            "longest_monologue": self.longest_monologue.to_dict() if self.longest_monologue else None,
            "backchannels": self.backchannels, "interruptions": self.interruptions, "interrupted": self.interrupted,
        }
        if self.speakers:
            data["speakers"] = list(self.speakers)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PartyStats":
        return cls(
            id=data.get("id"), label=str(data.get("label") or data.get("id") or ""), role=data.get("role"),
            talk_time=float(data["talk_time"]), talk_share=_opt(data.get("talk_share")), turns=int(data["turns"]),
            median_turn=_opt(data.get("median_turn")), longest_turn=_span(data.get("longest_turn")),
            words=int(data["words"]), words_per_minute=_opt(data.get("words_per_minute")),
            utterances=int(data["utterances"]), questions=int(data["questions"]),
            question_share=_opt(data.get("question_share")),
            longest_monologue=_span(data.get("longest_monologue")), backchannels=int(data["backchannels"]),
            interruptions=int(data["interruptions"]), interrupted=int(data["interrupted"]),
            speakers=tuple(data.get("speakers") or ()),
        )


@dataclass(frozen=True)
class Latency:
    """Response latencies (seconds; negative: the answer began in overlap) and their histogram.

    ``edges`` has one more entry than ``counts``; the first and last bins also hold the values beyond them.
    """

    values: tuple[float, ...]
    median: float | None
    p90: float | None
    edges: tuple[float, ...]
    counts: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.values)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "median": _r(self.median), "p90": _r(self.p90),
                "histogram": {"edges": [_r(e) for e in self.edges], "counts": list(self.counts)},
                "values": [_r(v) for v in self.values]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Latency":
        histogram = data.get("histogram") or {}
        return cls(tuple(float(v) for v in data.get("values", ())), _opt(data.get("median")), _opt(data.get("p90")),
                   tuple(float(e) for e in histogram.get("edges", ())), tuple(int(c) for c in histogram.get("counts", ())))


@dataclass(frozen=True)
class Interaction:
    """Between speakers: latency, interruptions, overlapped speech and backchannels."""

    latency: Latency
    interruptions: int
    overlap_time: float
    overlap_share: float | None
    backchannels: int
    backchannels_per_minute: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"latency": self.latency.to_dict(), "interruptions": self.interruptions,
                "overlap_time": _r(self.overlap_time), "overlap_share": _r(self.overlap_share, 4),
                "backchannels": self.backchannels, "backchannels_per_minute": _r(self.backchannels_per_minute, 3)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Interaction":
        return cls(Latency.from_dict(data["latency"]), int(data["interruptions"]), float(data["overlap_time"]),
                   _opt(data.get("overlap_share")), int(data["backchannels"]), _opt(data.get("backchannels_per_minute")))


@dataclass(frozen=True)
class Silence:
    """Time with nobody speaking: the total, the long silences, and a map (silent share of each bin)."""

    total: float
    share: float | None
    long: tuple[Span, ...]
    bin_seconds: float
    map: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"total": _r(self.total), "share": _r(self.share, 4), "long_count": len(self.long),
                "long": [s.to_dict() for s in self.long],
                "map": {"bin_seconds": _r(self.bin_seconds), "silent_share": [_r(v, 3) for v in self.map]}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Silence":
        silence_map = data.get("map") or {}
        return cls(float(data["total"]), _opt(data.get("share")), tuple(Span.from_dict(s) for s in data.get("long", ())),
                   float(silence_map.get("bin_seconds", 10.0)), tuple(float(v) for v in silence_map.get("silent_share", ())))


@dataclass(frozen=True)
class SessionAnalytics:
    """The shape of a session (see :mod:`therapybridge.analytics` for every definition)."""

    duration: float
    speakers: tuple[PartyStats, ...]
    roles: tuple[PartyStats, ...]
    interaction: Interaction
    silence: Silence
    turns: tuple[Span, ...]
    backchannels: tuple[Span, ...]
    interruptions: tuple[Span, ...]
    source: str
    options: AnalyticsOptions

    def speaker(self, speaker_id: str | None) -> PartyStats:
        for stats in self.speakers:
            if stats.id == speaker_id:
                return stats
        raise KeyError(speaker_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": ANALYTICS_VERSION,
            "duration": _r(self.duration),
            "source": self.source,
            "speakers": [s.to_dict() for s in self.speakers],
            "roles": [r.to_dict() for r in self.roles],
            "interaction": self.interaction.to_dict(),
            "silence": self.silence.to_dict(),
            "turns": [t.to_dict() for t in self.turns],
            "backchannels": [b.to_dict() for b in self.backchannels],
            "interruptions": [i.to_dict() for i in self.interruptions],
            "definitions": self.options.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SessionAnalytics":
        try:
            return cls(
                duration=float(data["duration"]),
                speakers=tuple(PartyStats.from_dict(s) for s in data["speakers"]),
                roles=tuple(PartyStats.from_dict(r) for r in data.get("roles", ())),
                interaction=Interaction.from_dict(data["interaction"]),
                silence=Silence.from_dict(data["silence"]),
                turns=_spans(data.get("turns")),
                backchannels=_spans(data.get("backchannels")),
                interruptions=_spans(data.get("interruptions")),
                source=str(data.get("source", "turns")),
                options=AnalyticsOptions.from_dict(data.get("definitions")),
            )
        except (KeyError, TypeError, ValueError, ConfigurationError) as exc:
            raise TranscriptFormatError(f"not a therapybridge analytics section: {exc!r}") from exc


def _spans(items: Sequence[Mapping[str, Any]] | None) -> tuple[Span, ...]:
    return tuple(Span.from_dict(s) for s in items or ())


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)
