"""Speaker alignment: every word to one speaker, segments split where the speaker changes.

``assign_speakers(words, turns)`` and ``align_transcript(segments, turns)`` work on the project's types;
``assign_speaker_indices`` is the array-level core; ``word_speaker_accuracy`` scores the result against a reference.
"""

from __future__ import annotations

from .core import assign_speaker_indices
from .metrics import WordSpeakerScore, score_word_speakers, word_speaker_accuracy
from .speakers import AlignOptions, align_transcript, assign_speakers, speaker_indices, split_segments

__all__ = [
    "AlignOptions",
    "WordSpeakerScore",
    "align_transcript",
    "assign_speaker_indices",
    "assign_speakers",
    "score_word_speakers",
    "speaker_indices",
    "split_segments",
    "word_speaker_accuracy",
]
