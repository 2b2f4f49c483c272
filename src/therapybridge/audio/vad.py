"""Speech detection with Silero VAD, the model faster-whisper ships: one wrapper for every stage that needs it."""

from __future__ import annotations

import numpy as np


def silero_speech(
    samples: np.ndarray, *, threshold: float, min_silence_ms: int, speech_pad_ms: int,
    max_speech_seconds: float = float("inf"),
) -> list[tuple[int, int]]:
    """``[start, end)`` sample spans of speech in 16 kHz mono ``samples``: frames whose speech probability reaches
    ``threshold``, pauses shorter than ``min_silence_ms`` bridged, each span widened by ``speech_pad_ms``."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(threshold=threshold, min_silence_duration_ms=min_silence_ms, speech_pad_ms=speech_pad_ms,
                         max_speech_duration_s=max_speech_seconds)
    return [(int(r["start"]), int(r["end"])) for r in get_speech_timestamps(samples, options)]
