"""Events a live session emits; ``to_dict()`` is the JSON message a client receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..types import _round

END_REASONS = ("finished", "source-ended", "disconnected", "error")


@dataclass(frozen=True, slots=True)
class LiveWord:
    """A recognised word on the session clock (seconds from its start); ``speaker`` only once committed."""

    start: float
    end: float
    text: str
    probability: float | None = None
    speaker: str | None = None

    def to_dict(self, *, committed: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"start": _round(self.start), "end": _round(self.end), "text": self.text}
        if committed:
            data.update(speaker=self.speaker, probability=_round(self.probability, 4))
        return data


@dataclass(frozen=True)
class LiveEvent:
    """Base of every event; ``type`` names the message."""

    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every event overrides it
        return {"type": self.type}


@dataclass(frozen=True)
class PartialEvent(LiveEvent):
    """The current uncommitted tail; it replaces the previous partial and may still change."""

    type: ClassVar[str] = "partial"
    words: tuple[LiveWord, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "words": [w.to_dict(committed=False) for w in self.words]}


@dataclass(frozen=True)
class CommittedEvent(LiveEvent):
    """Words that are final: they never change (a later merge of speakers is a relabel event)."""

    type: ClassVar[str] = "committed"
    words: tuple[LiveWord, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "words": [w.to_dict() for w in self.words]}


@dataclass(frozen=True)
class UtteranceEvent(LiveEvent):
    """A committed utterance of one speaker (a terminal line)."""

    type: ClassVar[str] = "utterance"
    speaker: str | None
    start: float
    end: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "speaker": self.speaker, "start": _round(self.start), "end": _round(self.end),
                "text": self.text}


@dataclass(frozen=True)
class RelabelEvent(LiveEvent):
    """Two clusters merged at session time ``at``: ``source`` is now called ``target``; history is not rewritten."""

    type: ClassVar[str] = "relabel"
    source: str
    target: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "from": self.source, "to": self.target, "at": _round(self.at)}


@dataclass(frozen=True)
class SpeakersEvent(LiveEvent):
    """The set of speakers changed."""

    type: ClassVar[str] = "speakers"
    speakers: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "speakers": list(self.speakers)}


@dataclass(frozen=True)
class EndEvent(LiveEvent):
    """The session ended: ``reason`` is one of ``END_REASONS``; ``message`` says why when it did not just finish."""

    type: ClassVar[str] = "end"
    reason: str = "finished"
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "reason": self.reason, "message": self.message}
