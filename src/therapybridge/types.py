"""Result types shared by every stage: frozen dataclasses with ``to_dict()`` / ``from_dict()``.

Times are seconds on the original recording's clock unless a docstring says otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from .errors import TranscriptFormatError

# 1.1: the top-level "turns" (the diarizer's own speaker turns). Readers accept 1.0 files, which have none.
# 1.2: the top-level "analytics" (therapybridge.analytics: talk time, latency, silences); older files have none.
SCHEMA_VERSION = "1.2"
# 1.2 also: the top-level "unrecognised" (speech heard but not recognised, each marked with this kind).
UNRECOGNISED_KIND = "unrecognised speech"


def _round(value: float | None, ndigits: int = 3) -> float | None:
    return None if value is None else round(float(value), ndigits)


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word. ``start``/``end`` are None when the recogniser gave no timestamp."""

    start: float | None
    end: float | None
    word: str
    probability: float | None = None
    speaker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _round(self.start),
            "end": _round(self.end),
            "word": self.word,
            "speaker": self.speaker,
            "probability": _round(self.probability, 4),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Word":
        return cls(
            start=_opt_float(data.get("start")),
            end=_opt_float(data.get("end")),
            word=str(data["word"]),
            probability=_opt_float(data.get("probability")),
            speaker=data.get("speaker"),
        )


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of speech: its text, its words and (after alignment) one speaker."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    speaker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _round(self.start),
            "end": _round(self.end),
            "speaker": self.speaker,
            "text": self.text,
            "words": [w.to_dict() for w in self.words],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Segment":
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            text=str(data.get("text", "")),
            words=tuple(Word.from_dict(w) for w in data.get("words", ())),
            speaker=data.get("speaker"),
        )


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    """A stretch of time in which one speaker talks (turns of different speakers may overlap)."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"start": _round(self.start), "end": _round(self.end), "speaker": self.speaker}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SpeakerTurn":
        return cls(start=float(data["start"]), end=float(data["end"]), speaker=str(data["speaker"]))


@dataclass(frozen=True, slots=True)
class UnrecognisedSpeech:
    """A stretch where ``speaker`` (None: unknown) was heard speaking but no word could be recognised."""

    start: float
    end: float
    speaker: str | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"start": _round(self.start), "end": _round(self.end), "speaker": self.speaker,
                "kind": UNRECOGNISED_KIND}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "UnrecognisedSpeech":
        speaker = data.get("speaker")
        return cls(start=float(data["start"]), end=float(data["end"]),
                   speaker=None if speaker is None else str(speaker))


@dataclass(frozen=True, slots=True)
class SpeakerInfo:
    """A speaker of the session: a stable id, a label to print and an optional role."""

    id: str
    label: str
    role: str | None = None
    match_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "role": self.role, "match_score": _round(self.match_score, 4)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SpeakerInfo":
        return cls(
            id=str(data["id"]),
            label=str(data.get("label") or data["id"]),
            role=data.get("role"),
            match_score=_opt_float(data.get("match_score")),
        )


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """The input recording as the user named it."""

    path: str
    duration: float

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "duration": _round(self.duration)}


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class Transcript(Mapping):
    """The pipeline's result. Also a read-only mapping over its JSON form, so ``t["segments"]`` works.

    ``turns``: the diarizer's own speaker turns on the original clock (who spoke when, overlaps included), by
    speaker id; empty without diarization and in transcripts written before schema 1.1.

    ``analytics``: the session analytics (``therapybridge.analytics.SessionAnalytics.to_dict()``), or None when they
    were not computed (and in transcripts written before schema 1.2); written to JSON only when present.

    ``unrecognised``: stretches where speech was heard but nothing could be recognised, even decoded on their own
    (writers show them as ``[inaudible HH:MM:SS–HH:MM:SS]``); written to JSON only when there are some.
    """

    audio: AudioInfo
    language: str | None
    segments: tuple[Segment, ...]
    speakers: tuple[SpeakerInfo, ...] = ()
    performance_metrics: Mapping[str, Any] = field(default_factory=dict)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    turns: tuple[SpeakerTurn, ...] = ()
    analytics: Mapping[str, Any] | None = None
    unrecognised: tuple[UnrecognisedSpeech, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = {
            "audio": self.audio.to_dict(),
            "language": self.language,
            "speakers": [s.to_dict() for s in self.speakers],
            "segments": [s.to_dict() for s in self.segments],
            "turns": [t.to_dict() for t in self.turns],
        }
        if self.unrecognised:
            data["unrecognised"] = [u.to_dict() for u in self.unrecognised]
        if self.analytics is not None:
            data["analytics"] = _thaw(self.analytics)
        data["performance_metrics"] = _thaw(self.performance_metrics)
        data["provenance"] = _thaw(self.provenance)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Transcript":
        try:
            audio = data["audio"]
            return cls(
                audio=AudioInfo(path=str(audio["path"]), duration=float(audio["duration"])),
                language=data.get("language"),
                segments=tuple(Segment.from_dict(s) for s in data["segments"]),
                speakers=tuple(SpeakerInfo.from_dict(s) for s in data.get("speakers", ())),
                performance_metrics=dict(data.get("performance_metrics") or {}),
                provenance=dict(data.get("provenance") or {}),
                turns=tuple(SpeakerTurn.from_dict(t) for t in data.get("turns") or ()),
                unrecognised=tuple(UnrecognisedSpeech.from_dict(u) for u in data.get("unrecognised") or ()),
                analytics=dict(data["analytics"]) if data.get("analytics") is not None else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TranscriptFormatError(f"not a therapybridge transcript: {exc!r}") from exc

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    def speaker_label(self, speaker_id: str | None) -> str | None:
        """The printable label of a speaker id (the id itself when no label is known)."""
        if speaker_id is None:
            return None
        for info in self.speakers:
            if info.id == speaker_id:
                return info.label
        return speaker_id

    def with_changes(self, **changes: Any) -> "Transcript":
        return dataclasses.replace(self, **changes)

    @cached_property
    def _view(self) -> Mapping[str, Any]:
        return _freeze(self.to_dict())

    def __getitem__(self, key: str) -> Any:
        return self._view[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._view)

    def __len__(self) -> int:
        return len(self._view)

    __hash__ = None  # type: ignore[assignment]


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    return value


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
