"""Real recognised words of the sample session (faster-whisper base, batched, word timestamps), computed once."""

from __future__ import annotations

import pytest

from tests.references import SAMPLE_RTTM, SAMPLE_STM, SAMPLE_WAV
from therapybridge.evaluation import read_rttm, read_stm
from therapybridge.types import Segment, SpeakerTurn, Word


@pytest.fixture(scope="session")
def sample_segments() -> tuple[Segment, ...]:
    """The sample through faster-whisper's BatchedInferencePipeline directly, so only alignment is under test."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from therapybridge.asr.models import resolve_model

    model = WhisperModel(str(resolve_model("base").path), device="cpu", compute_type="int8", cpu_threads=2)
    pieces, _ = BatchedInferencePipeline(model).transcribe(
        str(SAMPLE_WAV), batch_size=8, beam_size=5, word_timestamps=True
    )
    return tuple(
        Segment(p.start, p.end, p.text, tuple(Word(w.start, w.end, w.word, w.probability) for w in p.words))
        for p in pieces
    )


@pytest.fixture(scope="session")
def sample_words(sample_segments) -> tuple[Word, ...]:
    return tuple(w for s in sample_segments for w in s.words)


@pytest.fixture(scope="session")
def reference_turns() -> tuple[SpeakerTurn, ...]:
    return tuple(read_rttm(SAMPLE_RTTM))


@pytest.fixture(scope="session")
def reference_words() -> tuple[Word, ...]:
    """Each reference utterance of sample.stm as one 'word' carrying its speaker (the metric splits the text)."""
    return tuple(Word(u.start, u.end, u.text, speaker=u.speaker) for u in read_stm(SAMPLE_STM))
