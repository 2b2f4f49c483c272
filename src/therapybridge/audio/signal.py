"""Array-level signal helpers shared by every stage: channel layout, downmix, resampling, frame power.

One convention for multi-channel audio everywhere in the project: **channels first**, ``[channels, samples]``, the
layout of :class:`~therapybridge.audio.DecodedAudio`. A 1-D array is mono. A 2-D array with fewer samples than
channels (``0 < shape[1] < shape[0]``, e.g. a ``(n, 2)`` array from a ``[samples, channels]`` reader) is refused
with an :class:`~therapybridge.errors.InvalidAudioError` that says to transpose it: no helper guesses which axis
holds the channels. Anything with more than two dimensions is refused too.

The torch operations in :mod:`.ops` follow the same rule (:func:`check_channels_first`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigurationError, InvalidAudioError

SAMPLE_RATE = 16000


def check_channels_first(shape: tuple[int, ...]) -> None:
    """Raise :class:`InvalidAudioError` unless ``shape`` is ``[samples]`` or ``[channels, samples]``."""
    if len(shape) == 1:
        return
    if len(shape) != 2:
        raise InvalidAudioError(f"audio must be [samples] or [channels, samples]; got an array of shape {tuple(shape)}")
    channels, samples = shape
    if 0 < samples < channels:
        raise InvalidAudioError(
            f"audio of shape {tuple(shape)} has fewer samples than channels; audio is [channels, samples] "
            "(channels first) — transpose a [samples, channels] array first"
        )


def as_channels(audio: Any) -> np.ndarray:
    """float32 ``[channels, samples]`` from a 1-D or channels-first NumPy array or torch tensor (a 1-D input gets
    one channel)."""
    if hasattr(audio, "detach"):  # a torch tensor, without importing torch
        audio = audio.detach().float().cpu().numpy()
    samples = np.asarray(audio, dtype=np.float32)
    check_channels_first(samples.shape)
    return samples[None, :] if samples.ndim == 1 else samples


def to_mono(audio: Any, *, downmix: bool = True, purpose: str = "this step") -> np.ndarray:
    """float32 ``[samples]``: the mean over the channels of channels-first audio (one channel is taken as it is).

    ``downmix=False`` refuses more than one channel instead, as a :class:`ConfigurationError` (``purpose`` names
    the step in the message).
    """
    channels = as_channels(audio)
    if channels.shape[0] == 1:
        return channels[0]
    if not downmix:
        raise ConfigurationError(f"{purpose} needs mono audio, got {channels.shape[0]} channels")
    return channels.mean(axis=0)


def resample(audio: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """soxr (HQ) resampling of 1-D or ``[channels, samples]`` float audio; contiguous float32 out (the input
    itself when the rates are equal)."""
    if orig_rate == new_rate:
        return audio
    import soxr

    check_channels_first(audio.shape)
    if audio.shape[-1] == 0:
        return np.zeros((*audio.shape[:-1], 0), dtype=np.float32)
    frames = audio.T if audio.ndim == 2 else audio  # soxr wants [samples, channels]
    out = soxr.resample(np.ascontiguousarray(frames, dtype=np.float32), orig_rate, new_rate, quality="HQ")
    return np.ascontiguousarray(out.T if audio.ndim == 2 else out, dtype=np.float32)


def frame_power(samples: np.ndarray, frame: int) -> np.ndarray:
    """Mean square (float64) of each whole ``frame``-long stretch of a 1-D signal; a partial last frame is dropped.

    Computed a few thousand frames at a time, so a long recording is never copied in float64."""
    count = len(samples) // frame
    power = np.empty(count)
    step = 3000  # frames per block
    for first in range(0, count, step):
        block = samples[first * frame : min(first + step, count) * frame].reshape(-1, frame)
        power[first : first + len(block)] = np.einsum("ij,ij->i", block, block, dtype=np.float64) / frame
    return power


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, end)]`` indices of the runs of True in a 1-D bool array (end exclusive)."""
    edges = np.diff(mask.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))
