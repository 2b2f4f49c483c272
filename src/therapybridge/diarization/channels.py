"""Recordings with one speaker per channel (telehealth, phone recorders): diarize by channel activity."""

from __future__ import annotations

import logging

import numpy as np

from ..audio.signal import SAMPLE_RATE, as_channels, frame_power, resample, true_runs
from ..errors import InvalidAudioError
from ..perf.hooks import NULL_PROFILER, StageProfiler
from ..types import SpeakerTurn
from .base import DiarizationOptions, DiarizationResult

log = logging.getLogger(__name__)

FRAME_SECONDS = 0.02
DOMINANCE_DB = 10.0  # a channel must be this much louder than every other to count as its own speaker's speech
# A channel's frame is speech this far above the channel's noise floor (its 10th percentile). Chosen on the corpus's
# development stereo sessions d04 (15 dB SNR) and d09 (20 dB): DER 0.059/0.038 at 15 dB, 0.033/0.029 at 10 dB
# (8 dB: 0.024/0.035, with more false alarm).
SPEECH_ABOVE_FLOOR_DB = 10.0
# ... or where Silero VAD is at least this sure of speech. A voice with a wide dynamic range at a low SNR keeps much
# of its speech under any fixed margin above the floor: the development session d06 (two such voices, 15 dB SNR)
# recorded one speaker per channel lost 8-17 % of its speech to the margin alone (DER 0.166, 0.085, 0.114 over
# three acoustic seeds), 5-7 % with Silero at 0.85 (0.078, 0.054, 0.065). The development stereo sessions and the
# other renderings (d01, d10, d11) score the same or a little better (d04/d09 over five seeds each: mean DER 0.0328
# -> 0.0306); 0.7 adds false alarm (d06: 0.080, 0.059, 0.066), 0.5 more (d04: 0.060).
CONFIDENT_SPEECH = 0.85
# Hysteresis: a stretch that the two tests above call speech goes on, before and after, while the channel stays
# above a lower line, SPEECH_TAIL_ABOVE_FLOOR_DB over its floor and not more than SPEECH_TAIL_BELOW_LOUD_DB under
# its loud speech (95th percentile), so that a sentence's soft start and fading end stay with it where the noise
# lets them be heard. Chosen on the development stereo sessions d04 and d09 and on d06, d01 and d11 recorded one
# speaker per channel (d06 over three acoustic seeds): mean DER 0.0492 without it, 0.0436 with 4 / 20 dB (3 / 20:
# 0.0459, 5 / 20: 0.0451, 6 / 20: 0.0464, 4 / 25: 0.0499); d06 0.078, 0.054, 0.065 -> 0.063, 0.039, 0.055, d04
# 0.027 -> 0.025, d09 0.034 -> 0.036, d01 and d11 (30 dB) unchanged. A line from the floor alone (6 dB, no limit
# under the loud speech) took room reverberation at 30 dB SNR for speech (d01 false alarm 0.050 -> 0.070).
SPEECH_TAIL_ABOVE_FLOOR_DB = 4.0
SPEECH_TAIL_BELOW_LOUD_DB = 20.0
# Silero runs on stretches of this many seconds (its input is copied several times over).
_VAD_BLOCK_SECONDS = 600


def _channels_first(channels) -> np.ndarray:
    """``[channels, samples]`` float32 (:func:`therapybridge.audio.signal.as_channels`: no axis guessing)."""
    x = as_channels(channels)
    if x.shape[0] < 2:
        raise InvalidAudioError("channel-speaker mode needs at least two channels; this recording is mono")
    return x


def _frame_db(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-channel frame energy in dB, (channels, frames)."""
    hop = max(1, int(sample_rate * FRAME_SECONDS))
    return 10 * np.log10(np.stack([frame_power(channel, hop) for channel in x]) + 1e-10)


def _louder_than_others(db: np.ndarray, margin: float) -> np.ndarray:
    others = np.stack([np.delete(db, c, axis=0).max(axis=0) for c in range(db.shape[0])])
    return db > others + margin


def _floor(db: np.ndarray) -> np.ndarray:
    return np.percentile(db, 10, axis=1, keepdims=True)


def _loud(db: np.ndarray) -> np.ndarray:
    return db > _floor(db) + SPEECH_ABOVE_FLOOR_DB


def _confident_speech(x: np.ndarray, sample_rate: int, frames: int) -> np.ndarray:
    """(channels, frames) bool: Silero VAD hears speech there with at least ``CONFIDENT_SPEECH`` probability."""
    from ..audio.vad import silero_speech

    out = np.zeros((x.shape[0], frames), dtype=bool)
    block, frame = _VAD_BLOCK_SECONDS * SAMPLE_RATE, SAMPLE_RATE * FRAME_SECONDS
    for c, channel in enumerate(x):
        samples = resample(channel, sample_rate, SAMPLE_RATE)
        for lo in range(0, len(samples), block):
            for a, b in silero_speech(samples[lo : lo + block], threshold=CONFIDENT_SPEECH, min_silence_ms=100,
                                      speech_pad_ms=0):
                out[c, int((lo + a) / frame) : int(np.ceil((lo + b) / frame))] = True
    return out


def _channel_activity(db: np.ndarray, confident: np.ndarray) -> np.ndarray:
    """(channels, frames) bool: the channel is clearly above its noise floor, or Silero is sure it holds speech,
    and it is not just another channel's bleed (which sits far below the channel it comes from), grown while the
    sound stays above the lower line; both sides count when they talk at once."""
    own = _louder_than_others(db, -DOMINANCE_DB)
    active = (_loud(db) | confident) & own
    lower = np.maximum(_floor(db) + SPEECH_TAIL_ABOVE_FLOOR_DB,
                       np.percentile(db, 95, axis=1, keepdims=True) - SPEECH_TAIL_BELOW_LOUD_DB)
    return _grown(active, (db > lower) & own)


def _grown(core: np.ndarray, weak: np.ndarray) -> np.ndarray:
    """Per channel, every run of ``weak | core`` frames that holds at least one ``core`` frame (hysteresis: a
    stretch starts where the channel is surely speech and lasts while it stays above the lower threshold)."""
    out = np.zeros_like(core)
    for c in range(core.shape[0]):
        hits = np.concatenate([[0], np.cumsum(core[c])])
        for a, b in true_runs(core[c] | weak[c]):
            if hits[b] > hits[a]:
                out[c, a:b] = True
    return out


def _smooth(active: np.ndarray, min_on: int, max_gap: int) -> np.ndarray:
    """Fill gaps shorter than ``max_gap`` frames, then drop bursts shorter than ``min_on`` frames."""
    out = active.copy()
    for value, limit in ((False, max_gap), (True, min_on)):
        for a, b in true_runs(out == value):
            if b - a < limit and a > 0 and b < len(out) or (value and b - a < limit):
                out[a:b] = not value
    return out


def _spans(track: np.ndarray) -> list[tuple[float, float]]:
    """``[start, end)`` seconds of each run of True frames."""
    return [(a * FRAME_SECONDS, b * FRAME_SECONDS) for a, b in true_runs(track)]


def _smoothed(active: np.ndarray) -> np.ndarray:
    return np.stack([_smooth(a, min_on=int(0.2 / FRAME_SECONDS), max_gap=int(0.3 / FRAME_SECONDS)) for a in active])


def own_voice(channels, sample_rate: int = 16000) -> list[list[tuple[float, float]]]:
    """Per channel, the stretches (seconds) where it is not merely another channel's bleed: at most
    ``DOMINANCE_DB`` below the loudest other channel, whatever its own level (so a soft voice that the speech
    threshold of :func:`diarize_channels` misses is kept). Silence is kept too; what is left out is the time
    another channel's speaker talks and this one does not."""
    x = _channels_first(channels)
    return [_spans(track) for track in _smoothed(_louder_than_others(_frame_db(x, sample_rate), -DOMINANCE_DB))]


def diarize_channels(
    channels,
    sample_rate: int = 16000,
    options: DiarizationOptions | None = None,
    *,
    profiler: StageProfiler = NULL_PROFILER,
) -> DiarizationResult:
    """Diarize a (channels, samples) recording with one speaker per channel: a channel's speaker talks where that
    channel is clearly louder than the others. Speaker ``SPEAKER_0i`` is channel ``i`` (ordered by first speech).

    The channels fix the number of speakers: ``DiarizationOptions`` refuses count hints together with
    ``channel_speakers``, so ``options`` has nothing further to say here (it is accepted for the Diarizer interface).
    """
    x = _channels_first(channels)
    with profiler.subprocess("channel_activity", channels=x.shape[0]):
        db = _frame_db(x, sample_rate)
        active = _smoothed(_channel_activity(db, _confident_speech(x, sample_rate, db.shape[1])))
    turns = sorted((a, b, c) for c, track in enumerate(active) for a, b in _spans(track))
    order = list(dict.fromkeys(c for _, _, c in turns))
    names = {c: f"SPEAKER_{i:02d}" for i, c in enumerate(order)}
    result_turns = tuple(SpeakerTurn(round(s, 3), round(e, 3), names[c]) for s, e, c in turns)
    info = {"engine": "channels", "channels": int(x.shape[0]), "speakers": len(order),
            "speaker_channels": [int(c) for c in order]}  # speaker i talks on channel speaker_channels[i]
    return DiarizationResult(turns=result_turns, speakers=tuple(names[c] for c in order), info=info)


def channel_speaker_hint(channels, sample_rate: int = 16000) -> bool:
    """True when a multi-channel recording looks like one speaker per channel: in speech, the channels are
    usually far apart in level and each channel leads for a fair share of the time. A mono file copied to both
    channels, or an ordinary stereo room recording, gives False."""
    x = as_channels(channels)  # a [samples, channels] array is an error here too, not a silent False
    if x.shape[0] < 2:
        return False
    db = _frame_db(x, sample_rate)
    loud = _loud(db)
    speech = loud.any(axis=0)
    if speech.sum() < int(2.0 / FRAME_SECONDS):
        return False
    dominant = (loud & _louder_than_others(db, DOMINANCE_DB))[:, speech]
    shares = dominant.mean(axis=1)
    separated = dominant.any(axis=0).mean()
    return bool(separated >= 0.5 and np.sort(shares)[-2] >= 0.1)


def diarize_if_channel_speakers(
    channels,
    sample_rate: int = 16000,
    options: DiarizationOptions | None = None,
    *,
    profiler: StageProfiler = NULL_PROFILER,
) -> DiarizationResult | None:
    """:func:`diarize_channels` when ``options.channel_speakers`` is True, or when it is None (auto) and a
    multi-channel recording looks like one speaker per channel (:func:`channel_speaker_hint`) with a channel count
    the count hints admit; None when the mix is to be diarized instead."""
    options = options or DiarizationOptions()
    if options.channel_speakers is False:
        return None
    x = as_channels(channels)
    if options.channel_speakers is None:
        with profiler.subprocess("channel_check", channels=x.shape[0]) as span:
            separate = x.shape[0] >= 2 and options.allows_count(x.shape[0]) and channel_speaker_hint(x, sample_rate)
            if hasattr(span, "set"):
                span.set(one_speaker_per_channel=separate)
        if not separate:
            return None
    return diarize_channels(x, sample_rate, options, profiler=profiler)
