"""The pipeline: recordings in, speaker-attributed transcripts out.

- ``core``: ``AudioTranscriptionPipeline`` (one file, a batch, the stages in order) and ``BatchItem``.
- ``models``: the recogniser and the diarizer, loaded once and shared by every file.
- ``prefetch``: a batch's next file decoded on its own thread while the current one runs.
- ``provenance``: what made a transcript, and whether existing outputs are current (``--skip-existing``).
- ``inputs``: which inputs are recordings, and directories expanded into them.
"""

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
