"""``PreprocessOptions``: how a recording is prepared. Its own module, free of torch, so that the configuration (and
the CLI's checks of its options and inputs) loads without the audio stack."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._options import options_from
from ..errors import ConfigurationError

VAD_CHOICES = ("energy", "silero")
NORMALIZE_CHOICES = ("loudness", "peak", None)
RESAMPLE_METHODS = ("auto", "soxr", "julius")


@dataclass(frozen=True)
class PreprocessOptions:
    """How to prepare a recording for recognition and diarization.

    Speech is what is louder than a threshold that follows the recording: ``silence_threshold_db`` below its
    loud-speech level (the 95th percentile of 20 ms frame levels) and at least ``noise_margin_db`` above its
    noise floor (the 10th percentile); ``silence_floor_db`` is an absolute dBFS floor below which nothing is speech.
    ``max_pause`` seconds are kept of every longer pause; ``speech_pad`` seconds are kept before the first and
    after the last speech when ``trim_silence`` is on.
    """

    target_sample_rate: int = 16000
    channel: int | None = None
    trim_silence: bool = True
    shorten_pauses: bool = True
    max_pause: float = 2.0
    speech_pad: float = 0.3
    silence_threshold_db: float = -35.0
    noise_margin_db: float = 6.0
    silence_floor_db: float = -65.0
    vad: str = "energy"
    normalize: str | None = "loudness"
    target_lufs: float = -23.0
    target_peak_dbfs: float = -1.0
    resample_method: str = "auto"

    def __post_init__(self) -> None:
        if not 1000 <= int(self.target_sample_rate) <= 384000:
            raise ConfigurationError(
                f"target_sample_rate must be between 1000 and 384000 Hz, got {self.target_sample_rate}"
            )
        if self.channel is not None and int(self.channel) < 0:
            raise ConfigurationError("channel must be a 0-based index or None for a mono downmix")
        if not self.max_pause > 0:
            raise ConfigurationError(f"max_pause must be positive seconds, got {self.max_pause}")
        if self.speech_pad < 0:
            raise ConfigurationError(f"speech_pad must not be negative, got {self.speech_pad}")
        if self.vad not in VAD_CHOICES:
            raise ConfigurationError(f"unknown vad {self.vad!r}; choose one of {', '.join(VAD_CHOICES)}")
        if self.normalize not in NORMALIZE_CHOICES:
            raise ConfigurationError(f"unknown normalize {self.normalize!r}; choose loudness, peak or none")
        if self.resample_method not in RESAMPLE_METHODS:
            choices = ", ".join(RESAMPLE_METHODS)
            raise ConfigurationError(f"unknown resample_method {self.resample_method!r}; choose one of {choices}")
        if self.target_peak_dbfs > 0:
            raise ConfigurationError("target_peak_dbfs must be at most 0 dBFS")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PreprocessOptions":
        values = dict(data)
        if isinstance(values.get("normalize"), str) and values["normalize"].lower() in ("none", "off", ""):
            values["normalize"] = None
        return options_from(cls, values, "audio", list_known=True)

    @classmethod
    def coerce(cls, options: "PreprocessOptions | Mapping[str, Any] | None") -> "PreprocessOptions":
        if options is None:
            return cls()
        if isinstance(options, cls):
            return options
        if isinstance(options, Mapping):
            return cls.from_dict(options)
        raise ConfigurationError(f"audio options must be PreprocessOptions or a dict, not {type(options).__name__}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
