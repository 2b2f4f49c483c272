"""The speaker-diarization backend interface: load once, diarize many."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from ..perf.hooks import NULL_PROFILER, StageProfiler
from ..types import SpeakerTurn


_COUNT_HINTS = ("num_speakers", "min_speakers", "max_speakers")


@dataclass(frozen=True)
class DiarizationOptions:
    """Speaker-count hints and engine settings.

    ``channel_speakers``: ``True``: one speaker per channel of the recording (it fixes the number of speakers, so
    it cannot be combined with a count hint); ``False``: never; ``None`` (or ``"auto"``, the default): the pipeline
    diarizes by channel when a multi-channel recording looks like one speaker per channel
    (:func:`therapybridge.diarization.channel_speaker_hint`) and no count hint says otherwise.
    """

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    channel_speakers: bool | None = None

    def __post_init__(self) -> None:
        if self.channel_speakers == "auto":  # the spelling a TOML file can hold
            object.__setattr__(self, "channel_speakers", None)
        if self.channel_speakers not in (True, False, None):
            raise ConfigurationError(f"channel_speakers must be true, false or \"auto\", not {self.channel_speakers!r}")
        for name in _COUNT_HINTS:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigurationError(f"{name} must be at least 1, got {value}")
        if self.channel_speakers and any(getattr(self, name) is not None for name in _COUNT_HINTS):
            # One speaker per channel: the recording's channels fix the count, so a hint could only contradict it.
            raise ConfigurationError(
                "--channel-speakers takes one speaker per channel; drop --speakers/--min-speakers/--max-speakers"
            )
        if self.num_speakers is not None and (self.min_speakers is not None or self.max_speakers is not None):
            raise ConfigurationError("give either --speakers or --min-speakers/--max-speakers, not both")
        if self.min_speakers is not None and self.max_speakers is not None and self.min_speakers > self.max_speakers:
            raise ConfigurationError(
                f"min_speakers ({self.min_speakers}) is larger than max_speakers ({self.max_speakers})"
            )

    def allows_count(self, speakers: int) -> bool:
        """Whether the count hints (if any) admit ``speakers`` speakers."""
        if self.num_speakers is not None:
            return speakers == self.num_speakers
        return (self.min_speakers or 1) <= speakers <= (self.max_speakers or speakers)


@dataclass(frozen=True)
class DiarizationResult:
    """Speaker turns in seconds on the clock of the audio passed in.

    ``centroids`` maps each speaker id to its mean embedding. They are biometric data: they stay in memory and
    are never written by ``to_dict()`` or any writer.
    """

    turns: tuple[SpeakerTurn, ...]
    speakers: tuple[str, ...]
    centroids: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def num_speakers(self) -> int:
        return len(self.speakers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "turns": [t.to_dict() for t in self.turns],
            "speakers": list(self.speakers),
            "info": dict(self.info),
        }


class Diarizer(abc.ABC):
    """A diarization backend."""

    name: str = "base"

    @abc.abstractmethod
    def load(self, profiler: StageProfiler = NULL_PROFILER) -> None:
        """Load models (idempotent)."""

    @abc.abstractmethod
    def diarize(
        self,
        audio: np.ndarray,
        sample_rate: int = 16000,
        options: DiarizationOptions | None = None,
        *,
        profiler: StageProfiler = NULL_PROFILER,
    ) -> DiarizationResult:
        """Find who speaks when in mono float32 audio (a torch tensor on the device is accepted too)."""
