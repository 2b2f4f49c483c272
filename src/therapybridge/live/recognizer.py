"""Streaming recognition: a rolling buffer re-decoded with faster-whisper, words committed by LocalAgreement-2."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..asr.local import is_non_speech, without_loops
from ..audio.signal import SAMPLE_RATE, frame_power
from .agreement import LocalAgreement
from .events import LiveWord
from .options import LiveOptions

if TYPE_CHECKING:  # pragma: no cover
    from ..asr.base import TranscribeOptions

logger = logging.getLogger(__name__)

# When audio arrives faster than it is decoded (a replay faster than real time, or a slow machine), one step takes
# up to this many seconds of new audio at once, so the session catches up instead of queueing decodes.
CATCH_UP_SECONDS = 5.0
# A buffer in which the last decode heard no new word keeps only its last KEEP_IDLE_SECONDS once it is longer
# than IDLE_TRIM_SECONDS: silence is not decoded again and again, and speech just starting stays.
IDLE_TRIM_SECONDS = 4.0
KEEP_IDLE_SECONDS = 2.0
# A step whose new audio stays within QUIET_MARGIN_DB of the noise floor (the 10th percentile of the 100 ms frame
# powers of the last NOISE_WINDOW_SECONDS) while no word is in flight is not decoded: pauses cost no CPU. Speech
# sits 15-30 dB above the noise in the corpus conditions; what a quiet step holds stays buffered for the next one.
QUIET_MARGIN_DB = 6.0
NOISE_WINDOW_SECONDS = 30.0
_FRAME = SAMPLE_RATE // 10
SENTENCE_ENDS = (".", "?", "!")
# Audio this long after a decode's last word, above the noise floor, is decoded again from that word on.
CONTINUE_AFTER_SECONDS = 1.5


@dataclass(frozen=True)
class StepResult:
    """What one decode produced: newly committed words and the current partial tail."""

    committed: tuple[LiveWord, ...]
    partial: tuple[LiveWord, ...]


class StreamingRecognizer:
    """Holds at most ``max_buffer_seconds`` (+ one step) of audio; ``push`` audio, ``step`` when ``ready``."""

    def __init__(self, whisper: Any, options: LiveOptions, guard: "TranscribeOptions") -> None:
        self._whisper = whisper
        self.options = options
        self._guard = guard
        self._buffer = np.zeros(0, dtype=np.float32)
        self.buffer_start = 0.0  # session time of the buffer's first sample
        self._pending = 0  # samples pushed since the last decode
        self._agreement = LocalAgreement()
        self._segment_ends: list[float] = []
        self._committed: list[LiveWord] = []  # committed words whose audio is still buffered
        self._prompt: deque[str] = deque()
        self._prompt_len = 0
        self.language = options.language
        self.decodes = 0
        self.skipped = 0
        self._floor: float | None = None  # noise floor (dB) of the recent audio, once there is enough of it
        self._levels: deque[float] = deque(maxlen=int(NOISE_WINDOW_SECONDS * SAMPLE_RATE / _FRAME))

    # -- audio -----------------------------------------------------------------------------------------------

    @property
    def buffer_end(self) -> float:
        return self.buffer_start + len(self._buffer) / SAMPLE_RATE

    def push(self, samples: np.ndarray) -> None:
        self._buffer = np.concatenate([self._buffer, samples]) if len(self._buffer) else samples.copy()
        self._pending += len(samples)

    @property
    def ready(self) -> bool:
        return self._pending >= self.options.chunk_seconds * SAMPLE_RATE

    def audio(self, start: float, end: float) -> tuple[np.ndarray, float]:
        """Buffered audio between session times ``start`` and ``end`` (clipped to the buffer) and its start time."""
        lo = max(0, int(round((start - self.buffer_start) * SAMPLE_RATE)))
        hi = min(len(self._buffer), int(round((end - self.buffer_start) * SAMPLE_RATE)))
        return self._buffer[lo:max(lo, hi)], self.buffer_start + lo / SAMPLE_RATE

    # -- decoding --------------------------------------------------------------------------------------------

    def step(self) -> StepResult:
        """Decode the buffer once (the pending audio, up to ``CATCH_UP_SECONDS`` of it, is now heard)."""
        new = self._buffer[len(self._buffer) - min(self._pending, len(self._buffer)):]
        self._pending = max(0, self._pending - int(CATCH_UP_SECONDS * SAMPLE_RATE))
        if self._quiet(new) and not self._agreement.partial:
            self.skipped += 1
            self._trim_idle()
            return StepResult((), ())
        hypothesis = self._decode()
        committed, partial = self._agreement.update(hypothesis)
        self._committed.extend(committed)
        if not partial and not committed and not hypothesis:
            self._trim_idle()
        else:
            committed += self._trim()
        return StepResult(tuple(committed), tuple(self._agreement.partial))

    def finish(self) -> tuple[LiveWord, ...]:
        """A last decode of what is buffered; every word it gives after the committed ones is committed."""
        self._pending = 0
        hypothesis = self._decode() if len(self._buffer) >= SAMPLE_RATE // 4 else []
        words = tuple(self._agreement.flush(hypothesis))
        self._committed.extend(words)
        return words

    @property
    def partial(self) -> tuple[LiveWord, ...]:
        return tuple(self._agreement.partial)

    def _decode(self) -> list[LiveWord]:
        opts = self.options
        self.decodes += 1
        window = None
        if opts.fit_window:
            window = int(min(30, max(opts.min_window_seconds, np.ceil(len(self._buffer) / SAMPLE_RATE + 0.5))))
        segments, info = self._transcribe(window)
        words: list[LiveWord] = []
        ends: list[float] = []
        for segment in segments:
            if is_non_speech(segment, self._guard) or not segment.words:
                continue
            # A loop ("I'm sorry. I'm sorry. ...") cut to one occurrence, as offline: once committed it would prime
            # every later decode through the prompt (seen on e10 with tiny.en on a loaded machine: ~950 words).
            for w in without_loops(segment.words, self._guard):
                start = self.buffer_start + float(w.start)
                end = max(start, self.buffer_start + float(w.end))
                words.append(LiveWord(round(start, 3), round(end, 3), w.word.strip(), float(w.probability)))
            ends.extend(self._cut_points(segment))
        if self.language is None and info.language and len(self._buffer) >= 3 * SAMPLE_RATE:
            self.language = info.language  # detected once on enough audio, then kept: no per-decode detection
        self._segment_ends = ends
        return words

    def _cut_points(self, segment: Any) -> list[float]:
        """Where the buffer may be cut after ``segment``: its end, or without segment timestamps (one segment per
        decode) the end of each of its words that closes a sentence."""
        if self.options.segment_timestamps:
            return [self.buffer_start + float(segment.words[-1].end)]
        return [self.buffer_start + float(w.end) for w in segment.words if w.word.strip().endswith(SENTENCE_ENDS)]

    def _quiet(self, new: np.ndarray) -> bool:
        """Whether ``new`` audio is no louder than the recent noise floor (and so not worth a decode)."""
        levels = _levels_db(new)
        if not len(levels):
            return False
        self._levels.extend(levels.tolist())
        if len(self._levels) < 20:  # two seconds heard before there is a floor to compare with
            return False
        self._floor = float(np.percentile(np.fromiter(self._levels, float), 10))
        return float(levels.max()) < self._floor + QUIET_MARGIN_DB

    def _loud(self, start: float, end: float) -> bool:
        """Whether the buffered audio between session times ``start`` and ``end`` rises above the noise floor."""
        audio, _ = self.audio(start, end)
        if self._floor is None or len(audio) < _FRAME:
            return len(audio) > 0
        return float(_levels_db(audio).max()) >= self._floor + QUIET_MARGIN_DB

    def _transcribe(self, window: int | None) -> tuple[list[Any], Any]:
        opts = self.options
        extractor = self._whisper.feature_extractor
        prompt = " ".join(self._prompt) or None
        try:
            segments, info = self._whisper_pass(window, prompt)
            if opts.segment_timestamps:
                return list(segments), info
            first = _first(segments)
            if first is None or not first.words:  # from the start again would be the same decode of the same audio
                return ([] if first is None else [first]), info
            # Whisper may end a window's text early (a buffer that opens on a pause or a stray sound); the speech
            # after its last word is then decoded from there, in a second pass: only when it is there.
            heard = float(first.words[-1].end)
            if (self._buffer_seconds() - heard >= CONTINUE_AFTER_SECONDS
                    and self._loud(self.buffer_start + heard, self.buffer_end)):
                more, _ = self._whisper_pass(window, " ".join(filter(None, (prompt, first.text.strip()))),
                                             clip=[heard, self._buffer_seconds()])
                rest = _first(more)
                return [first] + ([rest] if rest is not None else []), info
            return [first], info
        finally:
            if window is not None:  # faster-whisper keeps the length on the shared extractor: put 30 s back
                extractor(np.zeros(160, dtype=np.float32), chunk_length=30)

    def _whisper_pass(self, window: int | None, prompt: str | None, clip: list[float] | None = None):
        opts = self.options
        return self._whisper.transcribe(
            self._buffer,
            language=self.language,
            beam_size=opts.beam_size,
            word_timestamps=True,
            initial_prompt=prompt,
            condition_on_previous_text=False,
            vad_filter=False,
            temperature=0.0,
            chunk_length=window,
            without_timestamps=not opts.segment_timestamps,
            clip_timestamps=clip if clip is not None else "0",
        )

    # -- keeping the buffer bounded --------------------------------------------------------------------------

    def _buffer_seconds(self) -> float:
        return len(self._buffer) / SAMPLE_RATE

    def _trim(self) -> list[LiveWord]:
        """Cut at the end of the last fully committed segment once the buffer is long; force it when too long."""
        opts = self.options
        seconds = self._buffer_seconds()
        if seconds <= opts.trim_seconds:
            return []
        committed_end = self._agreement.committed_end
        ends = [e for e in self._segment_ends[:-1] if self.buffer_start < e <= committed_end + 1e-3]
        if ends:
            self._cut(ends[-1])
            return []
        if seconds <= opts.max_buffer_seconds:
            return []
        # Nothing stable to cut at: commit what ends before the cut point, so that the buffer stays bounded.
        cut = self.buffer_end - opts.trim_seconds
        forced = self._agreement.commit_through(cut)
        self._committed.extend(forced)
        self._cut(max(cut, min(self._agreement.committed_end, self.buffer_end)))
        return forced

    def _trim_idle(self) -> None:
        """Drop what no decode needs again: committed audio, and uncommitted audio only where it is quiet (speech
        not yet recognised stays until the buffer's bound). The cut is at a committed word's end rather than inside
        it: a buffer that opens on half a word sets Whisper off (seen: "friend." decoded again and again)."""
        if self._buffer_seconds() <= IDLE_TRIM_SECONDS:
            return
        keep_from = self.buffer_end - KEEP_IDLE_SECONDS
        heard = min(self._agreement.committed_end, self.buffer_end)
        if heard < keep_from and self._loud(heard, keep_from) and self._buffer_seconds() <= self.options.max_buffer_seconds:
            self._cut(heard)
        else:
            self._cut(max(heard, keep_from))

    def _cut(self, time: float) -> None:
        drop = int(round((time - self.buffer_start) * SAMPLE_RATE))
        if drop <= 0:
            return
        self._buffer = self._buffer[drop:].copy()
        self.buffer_start += drop / SAMPLE_RATE
        self._agreement.drop_before(self.buffer_start)
        gone = [w for w in self._committed if w.end <= self.buffer_start + 1e-3]
        self._committed = self._committed[len(gone):]
        self._remember_prompt(gone)

    def _remember_prompt(self, words: list[LiveWord]) -> None:
        """Committed text that left the buffer primes later decodes (at most ``prompt_chars``, newest kept)."""
        for w in words:
            self._prompt.append(w.text)
            self._prompt_len += len(w.text) + 1
        while self._prompt and self._prompt_len > self.options.prompt_chars:
            self._prompt_len -= len(self._prompt.popleft()) + 1


def _levels_db(audio: np.ndarray) -> np.ndarray:
    """Power (dB) of each whole 100 ms frame of ``audio``; empty when it is shorter than a frame."""
    if len(audio) < _FRAME:
        return np.zeros(0)
    return 10.0 * np.log10(frame_power(audio, _FRAME) + 1e-12)


def _first(segments: Any) -> Any:
    """The first segment of a pass without segment timestamps (its whole window); closing the generator skips
    faster-whisper's next window over the audio after the last word (as costly as the first)."""
    first = next(segments, None)
    segments.close()
    return first
