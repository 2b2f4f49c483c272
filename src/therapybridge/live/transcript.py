"""``LiveTranscript``: what a live session committed, as a regular transcript plus its live history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import __version__
from ..types import SCHEMA_VERSION, AudioInfo, Segment, SpeakerInfo, SpeakerTurn, Transcript, Word
from .events import LiveWord, RelabelEvent, UtteranceEvent


@dataclass(frozen=True)
class LiveTranscript:
    """Committed words and utterances (speakers as emitted), the merges since, and the session's length.

    ``to_transcript()`` gives a ``therapybridge.types.Transcript`` (the merges applied, so each person has one id)
    that the ordinary writers render; ``to_dict()`` is that transcript's JSON with a ``live`` section added.
    """

    words: tuple[LiveWord, ...]
    utterances: tuple[tuple[UtteranceEvent, tuple[LiveWord, ...]], ...]
    relabels: tuple[RelabelEvent, ...]
    aliases: tuple[tuple[str, str], ...]
    audio_seconds: float
    model: str
    language: str | None
    settings: dict[str, Any]
    path: str = "live"

    def resolve(self, speaker: str | None) -> str | None:
        aliases = dict(self.aliases)
        while speaker in aliases:
            speaker = aliases[speaker]
        return speaker

    def to_transcript(self, path: str | None = None) -> Transcript:
        segments = []
        for utterance, members in self.utterances:
            speaker = self.resolve(utterance.speaker)
            segments.append(Segment(
                start=utterance.start, end=utterance.end, text=utterance.text, speaker=speaker,
                words=tuple(Word(w.start, w.end, w.text, w.probability, speaker) for w in members),
            ))
        ids = list(dict.fromkeys(s.speaker for s in segments if s.speaker))
        return Transcript(
            audio=AudioInfo(path=path or self.path, duration=round(self.audio_seconds, 3)),
            language=self.language,
            segments=tuple(segments),
            speakers=tuple(SpeakerInfo(id=i, label=i) for i in ids),
            turns=tuple(SpeakerTurn(s.start, s.end, s.speaker) for s in segments if s.speaker),
            provenance={"tool_version": __version__, "schema_version": SCHEMA_VERSION, "model": self.model,
                        "model_sha256": None, "settings": dict(self.settings), "live": True},
        )

    def to_dict(self) -> dict[str, Any]:
        data = self.to_transcript().to_dict()
        data["live"] = {
            "audio_seconds": round(self.audio_seconds, 3),
            "committed_words": [w.to_dict() for w in self.words],
            "relabels": [r.to_dict() for r in self.relabels],
        }
        return data
