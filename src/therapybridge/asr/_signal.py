"""Small signal helpers shared by the recognition backends."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigurationError, InvalidAudioError

SAMPLE_RATE = 16000


def mono_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Contiguous float32 mono at 16 kHz; a (1, n) or (n, 1) array counts as mono."""
    samples = np.asarray(audio)
    if samples.ndim == 2 and 1 in samples.shape:
        samples = samples.reshape(-1)
    if samples.ndim != 1:
        raise ConfigurationError(f"recognition needs mono audio, got an array of shape {samples.shape}")
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if not np.isfinite(samples).all():
        raise InvalidAudioError("the audio contains NaN or infinite samples")
    if sample_rate != SAMPLE_RATE:
        import soxr

        samples = np.ascontiguousarray(soxr.resample(samples, sample_rate, SAMPLE_RATE), dtype=np.float32)
    return samples


def frame_power(samples: np.ndarray, frame: int) -> np.ndarray:
    """Mean square (float64) of each whole ``frame``-long stretch of ``samples``; a partial last frame is dropped.

    Computed a few thousand frames at a time, so a long recording is never copied in float64."""
    count = len(samples) // frame
    power = np.empty(count)
    step = 3000  # frames per block
    for first in range(0, count, step):
        block = samples[first * frame : min(first + step, count) * frame].reshape(-1, frame)
        power[first : first + len(block)] = np.einsum("ij,ij->i", block, block, dtype=np.float64) / frame
    return power


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
