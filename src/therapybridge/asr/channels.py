"""Recordings with one speaker per channel: each channel is recognised on its own, the other side's bleed silenced.

Recognising the mix of such a recording loses what the channels keep apart. Whisper writes one text for two
voices talking at once, so a backchannel ("mm-hmm" under the other's sentence) is mostly dropped, and the words
that are written near it must then be given a speaker by timing alone. Decoding each channel instead gives every
word its channel's speaker, and overlapped speech is recognised on both sides. On the development stereo sessions
d04 and d09 (base) WER went 0.027/0.047 -> 0.026/0.032 and WDER 0.007/0.011 -> 0, and every recognised
backchannel kept its speaker.

Each channel is silenced where it carries only another channel's bleed (the other voice, faint in this
microphone; :func:`therapybridge.diarization.channels.own_voice`), ``CHANNEL_PAD_SECONDS`` either side kept, so the
bleed is not transcribed; a word that still lands inside another speaker's turn and outside its own speaker's is
such bleed and is dropped. The silencing follows the channels' relative level, not the speech threshold of the
channel turns, so a soft voice that the turns miss in places is still heard (on d04 and d09: 100 word errors this
way, 101 silencing everything outside the speaker's turns). The language is found once, on the mix, and gap
recovery (:mod:`.recovery`) runs per channel with that channel's turns. Times are seconds on the recording's own
clock (the channels are decoded whole, with no time map).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..perf.hooks import NULL_PROFILER, StageProfiler
from ..types import Segment, SpeakerTurn, UnrecognisedSpeech, Word
from ._signal import SAMPLE_RATE, mono_16k
from .base import ASRResult
from .recovery import keep_words, merge_segments, merge_spans, recover_gaps

if TYPE_CHECKING:  # pragma: no cover
    from ..audio.options import PreprocessOptions

logger = logging.getLogger(__name__)

# A channel's own stretches are cut where the two levels cross, at 20 ms frames, and a soft onset or trailing
# consonant can sit under the other's bleed: this much is kept either side so Whisper hears whole words.
CHANNEL_PAD_SECONDS = 0.25
# The language is found in this much of the recording's opening (Whisper needs 30 s of speech).
LANGUAGE_SECONDS = 600


@dataclass(frozen=True)
class ChannelRecognition:
    """The words of every channel with their speakers, in time order, what gap recovery left unrecognised, each
    channel's recognition result (``results[i]`` for the ``i``-th speaker asked for) and the language they were
    decoded in."""

    segments: tuple[Segment, ...]
    unrecognised: tuple[UnrecognisedSpeech, ...]
    results: tuple[ASRResult, ...]
    language: str | None = None


def kept_only(samples: np.ndarray, spans: Sequence[tuple[float, float]], pad: float = CHANNEL_PAD_SECONDS) -> np.ndarray:
    """A copy of 16 kHz ``samples`` that is silent outside ``spans`` (seconds) widened by ``pad`` seconds."""
    out = np.zeros_like(samples)
    for start, end in spans:
        a = max(0, int((start - pad) * SAMPLE_RATE))
        b = min(len(samples), int(np.ceil((end + pad) * SAMPLE_RATE)))
        out[a:b] = samples[a:b]
    return out


class _Spans:
    """The union of some turns, for asking whether a time falls inside it (in log time)."""

    def __init__(self, turns: Sequence[SpeakerTurn]) -> None:
        merged = merge_spans([(t.start, t.end) for t in turns])
        self._starts = np.array([a for a, _ in merged])
        self._ends = np.array([b for _, b in merged])

    def __contains__(self, t: float) -> bool:
        k = int(np.searchsorted(self._starts, t, side="right")) - 1
        return k >= 0 and t < self._ends[k]


def _not_bleed(own: Sequence[SpeakerTurn], others: Sequence[SpeakerTurn]):
    """A word is kept unless its middle is inside another speaker's turn and outside its own speaker's."""
    own_spans, other_spans = _Spans(own), _Spans(others)

    def keep(word: Word) -> bool:
        if word.start is None or word.end is None:
            return True
        middle = (word.start + word.end) / 2.0
        return middle in own_spans or middle not in other_spans
    return keep


def _with_speaker(segments: Sequence[Segment], speaker: str) -> list[Segment]:
    return [Segment(s.start, s.end, s.text, tuple(Word(w.start, w.end, w.word, w.probability, speaker) for w in s.words),
                    speaker) for s in segments]


def recognise_channels(
    transcriber: Any,
    channels: np.ndarray,
    sample_rate: int,
    turns: Sequence[SpeakerTurn],
    speaker_channels: Sequence[int],
    speakers: Sequence[str],
    heard: Sequence[Sequence[tuple[float, float]]],
    *,
    recover: bool = True,
    levels: PreprocessOptions | None = None,
    profiler: StageProfiler = NULL_PROFILER,
) -> ChannelRecognition:
    """Recognise ``channels`` (channels x samples) one by one: ``speakers[i]`` talks on channel
    ``speaker_channels[i]``, in its ``turns``; ``heard[c]``, the stretches of channel ``c`` to recognise
    (:func:`~therapybridge.diarization.channels.own_voice`). With ``recover``, gap recovery runs on each channel too
    (when the transcriber can decode again), its level detector at the speech levels of ``levels``."""
    channels = np.asarray(channels, dtype=np.float32)
    segments: list[Segment] = []
    unrecognised: list[UnrecognisedSpeech] = []
    results: list[ASRResult] = []
    with profiler.subprocess("language_detection"):
        # Once, on the mix, as a call on the whole recording would: a channel alone, cut to its speaker's voice,
        # can be taken for another language (the client channel of the evaluation session e09 came out as Welsh,
        # and its words with it). Whisper listens to the first 30 s of speech, well inside the first ten minutes.
        opening = channels[:, : LANGUAGE_SECONDS * sample_rate]
        language = transcriber.detect_language(opening.mean(axis=0), sample_rate)
    for speaker, channel in zip(speakers, speaker_channels):
        own = [t for t in turns if t.speaker == speaker]
        others = [t for t in turns if t.speaker != speaker]
        with profiler.subprocess("channel", channel=int(channel), turns=len(own)):
            samples = kept_only(mono_16k(channels[channel], sample_rate), heard[channel])
            asr = transcriber.transcribe(samples, SAMPLE_RATE, profiler=profiler, language=language)
            language = language or asr.language
            found: Sequence[Segment] = asr.segments
            if recover and hasattr(transcriber, "redecode"):
                with profiler.subprocess("gap_recovery") as span:
                    result = recover_gaps(transcriber, samples, found, own, asr.speech, asr.language, levels=levels)
                    if hasattr(span, "set"):
                        span.set(**result.counts())
                found = merge_segments(result.kept, result.segments)
                unrecognised += result.unrecognised
        kept = keep_words(found, _not_bleed(own, others))
        logger.debug("channel %d: %d words, %d dropped as the other side's bleed", channel,
                     sum(len(s.words) for s in kept), sum(len(s.words) for s in found) - sum(len(s.words) for s in kept))
        segments += _with_speaker(kept, speaker)
        results.append(asr)
    return ChannelRecognition(merge_segments(segments, ()), tuple(unrecognised), tuple(results), language)
