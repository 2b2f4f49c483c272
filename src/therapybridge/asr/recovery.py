"""Gap recovery: speech that was heard but not transcribed is decoded again on its own.

A batched Whisper window sometimes skips a whole sentence: the model ends its text early and the words of the
sentence never come back, though the speech detector and the diarizer both heard it. After recognition (and
diarization), this pass

1. finds the *gaps*: stretches of a speaker's turns, where the speech detector or the level meter hears speech
   (:func:`heard_speech`), that no recognised word covers, at least ``gap_min_seconds`` long (a word covers its
   own time, at most ``_WORD_COVER`` seconds either side of its midpoint, so a word stretched over a skipped
   sentence does not hide it), and stretches of a speaker's speech of ``_SPARSE_SECONDS`` or more with fewer than
   ``gap_min_words_per_second`` words a second;
2. decodes each gap again as its own Whisper window, with up to ``_SPEECH_AROUND`` seconds of the speech around
   it, its level normalised to the loudness of normal speech, with no text carried over from other windows, a
   token budget for its length and the regular hallucination guards (non-speech windows, repetition loops) on;
3. replaces the words the stretch had with the new ones when these are credible (mean word probability at least
   ``gap_min_probability``, at most a third of them unsure, not only Whisper's stock inventions such as "Thank
   you.") and more; a gap of at least ``unrecognised_min_seconds`` still without a word after that is marked as
   *unrecognised speech* of its speaker, so the transcript shows that something was said there.

Everything here is on the clock of the audio given to the recogniser.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..types import Segment, SpeakerTurn, UnrecognisedSpeech, Word
from ._signal import SAMPLE_RATE, frame_power

if TYPE_CHECKING:  # pragma: no cover
    from ..audio.options import PreprocessOptions

logger = logging.getLogger(__name__)

# A word covers at most this much time either side of its midpoint (plus ``_WORD_PAD``).
_WORD_COVER = 0.5
_WORD_PAD = 0.25
# A stretch of heard speech at least this long is checked for how many words it holds.
_SPARSE_SECONDS = 3.0
# Same-speaker turns closer than this are one stretch of speech.
_JOIN_TURNS = 0.3
# Audio decoded either side of a gap, so its first and last words are whole.
_CONTEXT = 0.3
# A stretch longer than this is decoded in parts (each its own window).
_MAX_STRETCH = 28.0
# Speech decoded along with a gap, at most this much either side (measured on the development half: the whole
# sentence around a gap, up to 28 s, recovered no more words than 10 s around it, at half again the time).
_SPEECH_AROUND = 3.0
# Credibility of what a gap gave: words below this probability are unsure; text made only of these phrases
# (Whisper's inventions on noise and on near-silence) is not speech.
_UNSURE = 0.5
_STOCK_PHRASES = re.compile(
    r"(?:(?:(?:thank )?you(?: very much| so much)?|thanks(?: for watching)?|bye)\s*)+"
)
_TOKEN = re.compile(r"[a-z']+")
# Level normalisation: the gap's loud frames are brought to this RMS level, with at most this much gain.
_TARGET_DBFS = -20.0
_MAX_GAIN_DB = 30.0


@dataclass(frozen=True)
class Gap:
    """Speech of ``speaker`` (None: no diarization) that no recognised word covers, ``[start, end)`` seconds."""

    start: float
    end: float
    speaker: str | None = None
    sparse: bool = False  # not uncovered but holding far fewer words than its length implies

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "speaker": self.speaker,
                "sparse": self.sparse}


@dataclass(frozen=True)
class Stretch:
    """What is decoded again: the speech around one or more gaps (the speaker's stretch of speech that holds them,
    at most ``_MAX_STRETCH`` seconds), in seconds."""

    start: float
    end: float
    gaps: tuple[Gap, ...]


@dataclass(frozen=True)
class RecoveryResult:
    """What the pass found: the recovered segments (one per stretch decoded again that gave more words), the
    original segments ``kept`` (without the words the recovered ones replace), the gaps left unrecognised, and
    counts for the performance report (``words``: how many more words the transcript has)."""

    segments: tuple[Segment, ...]
    kept: tuple[Segment, ...]
    unrecognised: tuple[UnrecognisedSpeech, ...]
    gaps: int
    gap_seconds: float
    recovered_gaps: int
    recovered_words: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "segments": [s.to_dict() for s in self.segments],
            "unrecognised": [u.to_dict() for u in self.unrecognised],
            **self.counts(),
        }

    def counts(self) -> dict[str, Any]:
        return {"stretches": self.gaps, "seconds": round(self.gap_seconds, 3), "recovered_stretches":
                self.recovered_gaps, "words": self.recovered_words, "unrecognised": len(self.unrecognised)}


def _nothing(segments: Sequence[Segment]) -> RecoveryResult:
    return RecoveryResult((), tuple(segments), (), 0, 0.0, 0, 0)


# -- finding the gaps ---------------------------------------------------------------------------------------------


def find_stretches(
    words: Sequence[Word],
    turns: Sequence[SpeakerTurn],
    speech: Sequence[tuple[float, float]],
    min_seconds: float,
    min_words_per_second: float = 0.0,
) -> list[Stretch]:
    """The gaps, each with the stretch of its speaker's speech that holds it (the sentence around a skipped part),
    cut to at most ``_MAX_STRETCH`` seconds; overlapping stretches are joined, in time order."""
    stretches: list[Stretch] = []
    for gap, (lo, hi) in _gaps_in_speech(words, turns, speech, min_seconds, min_words_per_second):
        for part in _parts(gap):
            start, end = _around(part, lo, hi)
            if stretches and start < stretches[-1].end and end - stretches[-1].start <= _MAX_STRETCH:
                last = stretches[-1]
                stretches[-1] = Stretch(last.start, max(last.end, end), (*last.gaps, part))
            else:
                stretches.append(Stretch(start, end, (part,)))
    return stretches


def _gaps_in_speech(words, turns, speech, min_seconds, min_words_per_second) -> list[tuple[Gap, tuple[float, float]]]:
    """Each gap with the stretch of heard speech that holds it; a stretch of at least ``_SPARSE_SECONDS`` with fewer
    than ``min_words_per_second`` words a second and no gap is one sparse gap."""
    heard = _heard(turns, speech)
    timed = [w for w in words if w.start is not None and w.end is not None]
    covered = merge_spans([_cover(w) for w in timed])
    middles = sorted((w.start + w.end) / 2.0 for w in timed)
    gaps = []
    for start, end, speaker in heard:
        found = [(Gap(round(lo, 3), round(hi, 3), speaker), (start, end))
                 for lo, hi in _subtract((start, end), covered) if hi - lo >= min_seconds]
        if not found and end - start >= _SPARSE_SECONDS:
            count = bisect.bisect_left(middles, end) - bisect.bisect_left(middles, start)
            if count < min_words_per_second * (end - start):
                found = [(Gap(round(start, 3), round(end, 3), speaker, sparse=True), (start, end))]
        gaps.extend(found)
    gaps.sort(key=lambda item: (item[0].start, item[0].end))
    out: list[tuple[Gap, tuple[float, float]]] = []
    for gap, span in gaps:  # two speakers heard at once: one gap of the longer one (the same audio, decoded once)
        if out and gap.start < out[-1][0].end:
            last, last_span = out[-1]
            keep = last.duration >= gap.duration
            out[-1] = (Gap(last.start, max(last.end, gap.end), last.speaker if keep else gap.speaker,
                           last.sparse and gap.sparse),
                       (min(last_span[0], span[0]), max(last_span[1], span[1])))
        else:
            out.append((gap, span))
    return out


def _around(gap: Gap, lo: float, hi: float) -> tuple[float, float]:
    """``gap`` with up to ``_SPEECH_AROUND`` seconds of the speech ``[lo, hi)`` that holds it either side, within
    ``_MAX_STRETCH`` seconds: the sentence a skipped part belongs to decodes better than the part alone."""
    spare = min(_SPEECH_AROUND, max(_MAX_STRETCH - gap.duration, 0.0) / 2.0)
    return max(lo, gap.start - spare), min(hi, gap.end + spare)


def _heard(turns: Sequence[SpeakerTurn], speech: Sequence[tuple[float, float]]) -> list[tuple[float, float, str | None]]:
    regions = merge_spans(list(speech))
    if not turns:
        return [(a, b, None) for a, b in regions]
    by_speaker: dict[str, list[tuple[float, float]]] = {}
    for turn in turns:
        by_speaker.setdefault(turn.speaker, []).append((turn.start, turn.end))
    heard = []
    for speaker, spans in by_speaker.items():
        for start, end in merge_spans(spans, join=_JOIN_TURNS):
            parts = _intersect((start, end), regions) if regions else [(start, end)]
            heard.extend((a, b, speaker) for a, b in parts)
    return sorted(heard)


def _cover(word: Word) -> tuple[float, float]:
    assert word.start is not None and word.end is not None
    middle = (word.start + word.end) / 2.0
    half = min((word.end - word.start) / 2.0, _WORD_COVER)
    return middle - half - _WORD_PAD, middle + half + _WORD_PAD


def merge_spans(spans: list[tuple[float, float]], join: float = 0.0) -> list[tuple[float, float]]:
    """The union of ``spans``, in time order; spans less than ``join`` seconds apart become one."""
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + join:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def _intersect(span: tuple[float, float], sorted_spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    lo, hi = span
    out = []
    for a, b in sorted_spans:
        if b <= lo:
            continue
        if a >= hi:
            break
        out.append((max(a, lo), min(b, hi)))
    return out


def _subtract(span: tuple[float, float], sorted_spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    lo, hi = span
    out = []
    for a, b in _intersect(span, sorted_spans):
        if a > lo:
            out.append((lo, a))
        lo = max(lo, b)
    if hi > lo:
        out.append((lo, hi))
    return out


# -- decoding them again ------------------------------------------------------------------------------------------


def recover_gaps(
    transcriber: Any,
    samples: np.ndarray,
    segments: Sequence[Segment],
    turns: Sequence[SpeakerTurn],
    speech: Sequence[tuple[float, float]],
    language: str | None,
    *,
    levels: PreprocessOptions | None = None,
) -> RecoveryResult:
    """Find the gaps in ``segments`` and decode the speech around each again with ``transcriber`` (a local
    faster-whisper one). Where the new decode has more credible words than the old one had in that stretch, its
    words replace them (a sentence cut short comes back whole); where it has none, the gap is unrecognised.
    ``levels``: the preprocessing's options, whose speech levels the level detector uses (None: their defaults)."""
    opts = transcriber.options
    words = [w for s in segments for w in s.words]
    stretches = find_stretches(words, turns, heard_speech(samples, speech, turns, levels), opts.gap_min_seconds,
                               opts.gap_min_words_per_second)
    if not stretches:
        return _nothing(segments)
    decoded = transcriber.redecode(samples, [_window(s, len(samples)) for s in stretches], language,
                                   gains=[_gain(samples, s) for s in stretches])
    kept = list(segments)
    recovered: list[Segment] = []
    replaced = 0
    unrecognised: list[UnrecognisedSpeech] = []
    for stretch, found in zip(stretches, decoded):
        inside = [w for w in found if _middle_in(w, stretch.start, stretch.end)]
        credible = bool(inside) and _credible(inside, opts.gap_min_probability)
        before = [w for w in words if _middle_in(w, stretch.start, stretch.end)]
        if credible and len(inside) > len(before):
            kept = _without_words_in(kept, stretch.start, stretch.end)
            replaced += len(before)
            text = "".join(w.word for w in inside).strip()
            recovered.append(Segment(inside[0].start or stretch.start, inside[-1].end or stretch.end, text,
                                     tuple(inside)))
            before = inside
        # What is still without a word is marked, so a reader knows something was said there.
        unrecognised.extend(
            UnrecognisedSpeech(g.start, g.end, g.speaker) for g in stretch.gaps
            if not g.sparse and g.duration >= opts.unrecognised_min_seconds
            and not any(_middle_in(w, g.start, g.end) for w in before)
        )
    gaps = [g for s in stretches for g in s.gaps]
    result = RecoveryResult(
        segments=tuple(recovered),
        kept=tuple(kept),
        unrecognised=tuple(unrecognised),
        gaps=len(stretches),
        gap_seconds=sum(g.duration for g in gaps),
        recovered_gaps=len(recovered),
        recovered_words=sum(len(s.words) for s in recovered) - replaced,
    )
    logger.debug("gap recovery: %d stretches (%.1f s of gaps), %d recovered (%d words), %d unrecognised",
                 result.gaps, result.gap_seconds, result.recovered_gaps, result.recovered_words, len(unrecognised))
    return result


def heard_speech(
    samples: np.ndarray, speech: Sequence[tuple[float, float]], turns: Sequence[SpeakerTurn],
    levels: PreprocessOptions | None = None,
) -> list[tuple[float, float]]:
    """Where the recording holds speech, for the gaps: the speech detector's regions and, once the diarizer has
    said who talks where, also what the level detector calls speech (:func:`therapybridge.audio.ops.detect_speech`,
    the preprocessing's detector, at the speech levels of ``levels``, a ``PreprocessOptions``, or their defaults;
    it keeps only sound well over the recording's noise floor).

    Silero alone misses some speech that the diarizer hears: on a telephone-band session its speech probability
    stayed between 0.45 and 0.57 for 2.8 s of a sentence against its 0.5 threshold, so the sentence was neither
    decoded nor marked. Without turns the speech detector is all there is, and the level alone would take every
    loud noise for a gap."""
    if not turns:
        return list(speech)
    import torch

    from ..audio.ops import detect_speech
    from ..audio.options import PreprocessOptions

    levels = levels or PreprocessOptions()
    level = detect_speech(torch.from_numpy(np.ascontiguousarray(samples)), SAMPLE_RATE,
                          threshold_db=levels.silence_threshold_db, noise_margin_db=levels.noise_margin_db,
                          floor_db=levels.silence_floor_db).speech
    return merge_spans([*speech, *((a / SAMPLE_RATE, b / SAMPLE_RATE) for a, b in level)])


def _middle_in(word: Word, start: float, end: float) -> bool:
    return word.start is not None and word.end is not None and start <= (word.start + word.end) / 2.0 < end


def _without_words_in(segments: list[Segment], start: float, end: float) -> list[Segment]:
    """``segments`` without their words whose middle is in ``[start, end)``; segments left empty go."""
    return keep_words(segments, lambda w: not _middle_in(w, start, end))


def keep_words(segments: Sequence[Segment], keep: Callable[[Word], bool]) -> list[Segment]:
    """``segments`` with only the words ``keep`` accepts, each text rebuilt from its words; segments left empty
    go."""
    out = []
    for segment in segments:
        words = tuple(w for w in segment.words if keep(w))
        if len(words) == len(segment.words):
            out.append(segment)
        elif words:
            text = "".join(w.word for w in words).strip()
            out.append(Segment(words[0].start or segment.start, words[-1].end or segment.end, text, words,
                               segment.speaker))
    return out


def _parts(gap: Gap) -> list[Gap]:
    count = int(np.ceil(gap.duration / _MAX_STRETCH))
    if count <= 1:
        return [gap]
    step = gap.duration / count
    return [Gap(gap.start + i * step, gap.start + (i + 1) * step, gap.speaker) for i in range(count)]


def _window(stretch: Stretch, total: int) -> tuple[int, int]:
    start = max(0, int((stretch.start - _CONTEXT) * SAMPLE_RATE))
    end = min(total, int((stretch.end + _CONTEXT) * SAMPLE_RATE))
    return start, max(end, start + 1)


def _gain(samples: np.ndarray, stretch: Stretch) -> float:
    """The factor that brings the stretch's loud frames (the upper half by power) to ``_TARGET_DBFS``; never
    quieter."""
    lo, hi = _window(stretch, len(samples))
    power = frame_power(samples[lo:hi], SAMPLE_RATE // 50)
    if len(power) == 0:
        return 1.0
    loud = float(np.mean(np.sort(power)[len(power) // 2 :]))
    if loud <= 0.0:
        return 1.0
    gain_db = _TARGET_DBFS - 10.0 * np.log10(loud)
    return float(10.0 ** (min(max(gain_db, 0.0), _MAX_GAIN_DB) / 20.0))


def _credible(words: Sequence[Word], min_probability: float) -> bool:
    """Words worth adding: a mean probability of at least ``min_probability``, at most a third of them unsure, and
    not only the phrases Whisper makes up from noise ("Thank you very much. Thank you very much.")."""
    phrase = " ".join(_TOKEN.findall("".join(w.word for w in words).lower()))
    if not phrase or _STOCK_PHRASES.fullmatch(phrase):
        return False
    probabilities = [w.probability for w in words if w.probability is not None]
    if not probabilities:
        return True
    unsure = sum(p < _UNSURE for p in probabilities)
    return float(np.mean(probabilities)) >= min_probability and unsure <= len(probabilities) / 3


def merge_segments(kept: Sequence[Segment], recovered: Sequence[Segment]) -> tuple[Segment, ...]:
    """The recovered segments put among the kept ones in time order."""
    return tuple(sorted([*kept, *recovered], key=lambda s: (s.start, s.end)))
