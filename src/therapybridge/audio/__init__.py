"""Audio input and preprocessing: PyAV decoding to float32 and device-agnostic torch operations.

``preprocess(source)`` turns a recording into 16 kHz mono audio with long pauses shortened, plus the
``TimeMap`` that takes every later timestamp back to the original recording's clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# Imported on first use: the configuration needs ``PreprocessOptions`` but not torch.
_HOMES = {
    "AudioStream": "decode", "DecodedAudio": "decode", "decode_audio": "decode",
    "PreparedAudio": "prepare", "PreprocessStep": "prepare", "preprocess": "prepare",
    "save_prepared": "prepare", "PreprocessOptions": "options", "TimeMap": "timemap",
}

if TYPE_CHECKING:
    from .decode import AudioStream, DecodedAudio, decode_audio
    from .options import PreprocessOptions
    from .prepare import PreparedAudio, PreprocessStep, preprocess, save_prepared
    from .timemap import TimeMap

__all__ = [
    "AudioStream",
    "DecodedAudio",
    "PreparedAudio",
    "PreprocessOptions",
    "PreprocessStep",
    "TimeMap",
    "decode_audio",
    "preprocess",
    "save_prepared",
]

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
