"""Recognition-side signal helpers: the backends' input check and cutting long audio at quiet points."""

from __future__ import annotations

import numpy as np

from ..audio.signal import SAMPLE_RATE, frame_power, resample, to_mono
from ..errors import InvalidAudioError

__all__ = ["SAMPLE_RATE", "frame_power", "mono_16k", "quietest_point", "split_at_quiet"]


def mono_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Contiguous float32 mono at 16 kHz from 1-D or one-channel ``[1, samples]`` audio (the project's
    channels-first convention, :mod:`therapybridge.audio.signal`); several channels are refused, not mixed."""
    samples = np.ascontiguousarray(to_mono(audio, downmix=False, purpose="recognition"))
    if not np.isfinite(samples).all():
        raise InvalidAudioError("the audio contains NaN or infinite samples")
    return np.ascontiguousarray(resample(samples, sample_rate, SAMPLE_RATE))


def quietest_point(samples: np.ndarray, lo: int, hi: int, frame: int) -> int:
    """The middle of the quietest ``frame``-long stretch of ``samples[lo:hi]`` (a place to cut without a word)."""
    energy = frame_power(samples[lo:hi], frame)
    if len(energy) == 0:
        return (lo + hi) // 2
    return lo + int(np.argmin(energy)) * frame + frame // 2


def split_at_quiet(samples: np.ndarray, start: int, end: int, max_length: int, frame: int) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` into pieces of at most ``max_length`` samples at the quietest point of each piece's
    last third."""
    parts = []
    while end - start > max_length:
        cut = quietest_point(samples, start + 2 * max_length // 3, start + max_length, frame)
        parts.append((start, cut))
        start = cut
    parts.append((start, end))
    return parts
