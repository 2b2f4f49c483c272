"""``LiveModels``: Whisper, segmentation-3.0 and CAM++ loaded once, with the project's own loaders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .options import LiveOptions

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..asr.base import TranscribeOptions
    from ..asr.local import FasterWhisperTranscriber
    from ..diarization.models import SegmentationModel


@dataclass(frozen=True)
class LiveModels:
    """The models of live sessions. Loaded once and shared: any number of sessions may use them, one call at a
    time per session (CTranslate2 and torch inference are thread-safe)."""

    transcriber: "FasterWhisperTranscriber"
    guard: "TranscribeOptions"
    device: "torch.device"
    segmentation: "SegmentationModel | None" = None
    embedding: Any = None

    @classmethod
    def load(cls, options: "LiveOptions | dict | None" = None) -> "LiveModels":
        """Load the recognition model of ``options.model`` and, unless diarization is off, the speaker models."""
        from ..asr import TranscribeOptions, load_transcriber
        from ..device import resolve_device

        options = LiveOptions.from_dict(options)
        device = resolve_device(options.device)
        guard = TranscribeOptions(
            model=options.model, language=options.language, beam_size=options.beam_size,
            cpu_threads=options.cpu_threads, allow_download=options.allow_download,
            no_speech_threshold=options.no_speech_threshold, log_prob_threshold=options.log_prob_threshold,
        )
        transcriber = load_transcriber("local", guard, device)
        transcriber.load()
        segmentation = embedding = None
        if options.diarization:
            from ..diarization.models import load_embedding, load_segmentation

            segmentation = load_segmentation(device)
            embedding = load_embedding(device)
        return cls(transcriber, guard, device, segmentation, embedding)

    @property
    def whisper(self) -> Any:
        """The faster-whisper ``WhisperModel``."""
        return self.transcriber.whisper_model

    @property
    def model_name(self) -> str:
        return self.transcriber.model_id

    @property
    def has_speakers(self) -> bool:
        return self.segmentation is not None and self.embedding is not None
