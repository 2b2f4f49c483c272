"""The pipeline: recordings in, speaker-attributed transcripts out.

- ``core``: ``AudioTranscriptionPipeline`` (one file, a batch, the stages in order) and ``BatchItem``.
- ``models``: the recogniser and the diarizer, loaded once and shared by every file.
- ``prefetch``: a batch's next file decoded on its own thread while the current one runs.
- ``provenance``: what made a transcript, and whether existing outputs are current (``--skip-existing``).
- ``inputs``: which inputs are recordings, and directories expanded into them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

# Imported on first use: the CLI checks its inputs (``inputs``) before anything loads torch or the models.
_CORE = ("DEFAULT_FORMATS", "STAGE_ALIGNMENT", "STAGE_ASR", "STAGE_DIARIZATION", "STAGE_PREPROCESS", "STAGE_WRITING",
         "AudioTranscriptionPipeline", "BatchItem")
_HOMES = {
    **dict.fromkeys(_CORE, "core"), "AUDIO_EXTENSIONS": "inputs", "check_input": "inputs",
    "expand_inputs": "inputs", "file_sha256": "provenance",
}

if TYPE_CHECKING:
    from .core import (
        DEFAULT_FORMATS,
        STAGE_ALIGNMENT,
        STAGE_ASR,
        STAGE_DIARIZATION,
        STAGE_PREPROCESS,
        STAGE_WRITING,
        AudioTranscriptionPipeline,
        BatchItem,
    )
    from .inputs import AUDIO_EXTENSIONS, check_input, expand_inputs
    from .provenance import file_sha256

__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_FORMATS",
    "STAGE_ALIGNMENT",
    "STAGE_ASR",
    "STAGE_DIARIZATION",
    "STAGE_PREPROCESS",
    "STAGE_WRITING",
    "AudioTranscriptionPipeline",
    "BatchItem",
    "check_input",
    "expand_inputs",
    "file_sha256",
]

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
