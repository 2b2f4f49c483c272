"""Audio input and preprocessing: PyAV decoding to float32 and device-agnostic torch operations.

``preprocess(source)`` turns a recording into 16 kHz mono audio with long pauses shortened, plus the
``TimeMap`` that takes every later timestamp back to the original recording's clock.
"""

from .decode import AudioStream, DecodedAudio, decode_audio
from .preprocess import PreparedAudio, PreprocessOptions, PreprocessStep, preprocess, save_prepared
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
