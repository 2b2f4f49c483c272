"""Speaker alignment: every word to one speaker, segments split where the speaker changes.

``assign_speakers(words, turns)`` and ``align_transcript(segments, turns)`` work on the project's types;
``assign_speaker_indices`` is the array-level core. Scoring the result against a reference (word-speaker accuracy,
WDER) is :func:`therapybridge.evaluation.score_attribution`.
"""

from __future__ import annotations

from .core import assign_speaker_indices
from .speakers import AlignOptions, align_transcript, assign_speakers, speaker_indices, split_segments

__all__ = [
    "AlignOptions",
    "align_transcript",
    "assign_speaker_indices",
    "assign_speakers",
    "speaker_indices",
    "split_segments",
]
