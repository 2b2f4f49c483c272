"""``LiveSession``: feed audio, get events; committed words never change."""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

import numpy as np

from ..errors import InvalidAudioError
from .events import CommittedEvent, EndEvent, LiveEvent, LiveWord, PartialEvent, UtteranceEvent
from .models import LiveModels
from .options import LiveOptions
from .recognizer import SAMPLE_RATE, StreamingRecognizer
from .speakers import SpeakerAttributor
from .transcript import LiveTranscript

logger = logging.getLogger(__name__)

# An utterance (one terminal line) closes when the speaker changes or after a pause this long.
UTTERANCE_PAUSE = 1.0
# ... or when it holds this many words and the last one ends a sentence (a monologue still gets lines).
UTTERANCE_MAX_WORDS = 40


class LiveSession:
    """One live session over shared ``LiveModels``: ``feed`` audio (float32 mono 16 kHz) in pieces of any length,
    ``finish`` at the end, ``transcript()`` at any time (also after an error). Calls must not overlap."""

    def __init__(self, models: LiveModels, options: "LiveOptions | dict | None" = None) -> None:
        self.options = LiveOptions.from_dict(options)
        self.models = models
        self._recognizer = StreamingRecognizer(models.whisper, self.options, models.guard)
        self._speakers = SpeakerAttributor(models, self.options) if (
            self.options.diarization and models.has_speakers) else None
        self._words: list[LiveWord] = []
        self._utterances: list[tuple[UtteranceEvent, tuple[LiveWord, ...]]] = []
        self._open: list[LiveWord] = []
        self._samples = 0
        self._finished = False
        self._lock = threading.Lock()

    @property
    def audio_seconds(self) -> float:
        return self._samples / SAMPLE_RATE

    @property
    def finished(self) -> bool:
        return self._finished

    def feed(self, samples: Any) -> list[LiveEvent]:
        """Add audio; the events of any decodes it made possible (blocking CPU work)."""
        chunk = _checked(samples)
        with self._lock:
            if self._finished or not len(chunk):
                return []
            self._samples += len(chunk)
            self._recognizer.push(chunk)
            events: list[LiveEvent] = []
            while self._recognizer.ready:
                result = self._recognizer.step()
                events.extend(self._commit(result.committed))
                events.append(PartialEvent(result.partial))
            return events

    def finish(self, reason: str = "finished", message: str | None = None) -> list[LiveEvent]:
        """Commit what remains and end the session (idempotent: later calls return nothing)."""
        with self._lock:
            if self._finished:
                return []
            self._finished = True
            events: list[LiveEvent] = []
            try:
                events.extend(self._commit(self._recognizer.finish()))
            finally:
                events.extend(self._close_utterance())
                events.append(PartialEvent(()))
                events.append(EndEvent(reason, message))
            return events

    def transcript(self) -> LiveTranscript:
        """The committed words, utterances and speakers so far (merges listed, not rewritten)."""
        speakers = self._speakers
        open_words = tuple(self._open)
        utterances = list(self._utterances)
        if open_words:
            utterances.append((_utterance(open_words), open_words))
        settings = {k: v for k, v in dataclasses.asdict(self.options).items()}
        return LiveTranscript(
            words=tuple(self._words),
            utterances=tuple(utterances),
            relabels=tuple(speakers.relabels) if speakers else (),
            aliases=tuple(speakers.aliases.items()) if speakers else (),
            audio_seconds=self.audio_seconds,
            model=self.models.model_name,
            language=self._recognizer.language,
            settings=settings,
        )

    # -- internals -------------------------------------------------------------------------------------------

    def _commit(self, words: tuple[LiveWord, ...]) -> list[LiveEvent]:
        if not words:
            return []
        events: list[LiveEvent] = []
        if self._speakers is not None:
            words, speaker_events = self._speakers.attribute(words, self._recognizer)
            events.extend(speaker_events)
        self._words.extend(words)
        events.insert(0, CommittedEvent(tuple(words)))
        for word in words:
            events.extend(self._place(word))
        return events

    def _place(self, word: LiveWord) -> list[LiveEvent]:
        """Add a committed word to the open utterance, closing it first when this word starts a new one."""
        events: list[LiveEvent] = []
        if self._open:
            last = self._open[-1]
            resolve = self._speakers.resolve if self._speakers else (lambda s: s)
            if (resolve(word.speaker) != resolve(last.speaker) or word.start - last.end >= UTTERANCE_PAUSE
                    or (len(self._open) >= UTTERANCE_MAX_WORDS and last.text.endswith((".", "?", "!")))):
                events.extend(self._close_utterance())
        self._open.append(word)
        return events

    def _close_utterance(self) -> list[LiveEvent]:
        if not self._open:
            return []
        words = tuple(self._open)
        self._open = []
        utterance = _utterance(words)
        self._utterances.append((utterance, words))
        return [utterance]


def _utterance(words: tuple[LiveWord, ...]) -> UtteranceEvent:
    return UtteranceEvent(words[0].speaker, words[0].start, words[-1].end, " ".join(w.text for w in words).strip())


def _checked(samples: Any) -> np.ndarray:
    """Mono float32 16 kHz samples as a 1-D array; anything else is an ``InvalidAudioError``."""
    try:
        chunk = np.asarray(samples, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidAudioError(f"live audio must be float32 samples: {exc}") from exc
    if chunk.ndim != 1:
        raise InvalidAudioError(f"live audio must be mono (1-D), got shape {chunk.shape}")
    if not np.isfinite(chunk).all():
        raise InvalidAudioError("live audio contains NaN or infinite samples")
    return chunk
