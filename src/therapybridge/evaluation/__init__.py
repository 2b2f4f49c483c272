"""Scoring shared by the tests, the benchmarks and ``therapybridge score``: DER, JER, WER, cpWER, WDER.

- :mod:`.formats`: RTTM (read/write), STM (with ``<backchannel>``-style tags) and UEM files.
- :func:`score_diarization`: DER / JER / missed / false alarm / confusion (pyannote.metrics), speaker counts,
  the optimal speaker mapping and overlap handling (:class:`OverlapScore`).
- :func:`word_error_rate`, :func:`cp_word_error_rate`: after Whisper's English normaliser (jiwer, meeteval).
- :func:`score_attribution`: WDER, word-speaker accuracy and backchannel speaker accuracy.
- :func:`score_transcript`: all of it for a transcript JSON (or RTTM) against reference files.
"""

from .diarization import DiarizationScore, OverlapScore, score_diarization, score_overlap
from .formats import StmUtterance, format_rttm, read_rttm, read_stm, read_uem, write_rttm
from .transcript import TranscriptScore, format_score, load_hypothesis, score_transcript, score_turns_and_words
from .words import (
    AttributionScore,
    CpWordErrorScore,
    HypothesisWord,
    ReferenceWord,
    WordErrorScore,
    align_words,
    cp_word_error_rate,
    hypothesis_words,
    normalize,
    reference_words,
    score_attribution,
    texts_by_speaker,
    token_error_rate,
    word_error_rate,
)

__all__ = [
    "AttributionScore",
    "CpWordErrorScore",
    "DiarizationScore",
    "HypothesisWord",
    "OverlapScore",
    "ReferenceWord",
    "StmUtterance",
    "TranscriptScore",
    "WordErrorScore",
    "align_words",
    "cp_word_error_rate",
    "format_rttm",
    "format_score",
    "hypothesis_words",
    "load_hypothesis",
    "normalize",
    "read_rttm",
    "read_stm",
    "read_uem",
    "reference_words",
    "score_attribution",
    "score_diarization",
    "score_overlap",
    "score_transcript",
    "score_turns_and_words",
    "texts_by_speaker",
    "token_error_rate",
    "word_error_rate",
    "write_rttm",
]
