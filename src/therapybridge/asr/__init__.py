"""Speech recognition: a local faster-whisper backend (the default) and an opt-in OpenAI API backend.

    transcriber = load_transcriber("local", TranscribeOptions(model="base"), torch.device("cpu"))
    transcriber.load()                      # once per process; the model is shared by later instances
    result = transcriber.transcribe(samples, 16000)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from .base import ASRResult, TranscribeOptions, Transcriber
from .models import ResolvedModel, default_cache_dir, offline_model_names, resolve_model

if TYPE_CHECKING:  # pragma: no cover
    import torch

BACKENDS = ("local", "openai")

__all__ = [
    "ASRResult",
    "BACKENDS",
    "ResolvedModel",
    "TranscribeOptions",
    "Transcriber",
    "default_cache_dir",
    "load_transcriber",
    "offline_model_names",
    "resolve_model",
]


def load_transcriber(
    backend: str = "local",
    options: "TranscribeOptions | dict[str, Any] | None" = None,
    device: "torch.device | str" = "cpu",
    *,
    allow_remote: bool = False,
) -> Transcriber:
    """A recognition backend by name; nothing is loaded until ``load()`` or the first ``transcribe()``."""
    opts = TranscribeOptions.from_dict(options)
    if backend == "local":
        from .local import FasterWhisperTranscriber

        return FasterWhisperTranscriber(opts, device)
    if backend == "openai":
        from .openai_api import OpenAITranscriber

        return OpenAITranscriber(opts, allow_remote=allow_remote)
    raise ConfigurationError(f"unknown recognition backend {backend!r}; choose one of {', '.join(BACKENDS)}")
