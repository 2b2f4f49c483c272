"""Real recognised words of the sample session (faster-whisper base, batched, word timestamps), computed once."""

from __future__ import annotations

import pytest

from tests.references import SAMPLE_RTTM, SAMPLE_STM, SAMPLE_WAV
from therapybridge.evaluation import StmUtterance, read_rttm, read_stm
from therapybridge.types import Segment, SpeakerTurn, Word


def _base_words(path) -> tuple[Segment, ...]:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from therapybridge.asr.models import resolve_model

    model = WhisperModel(str(resolve_model("base").path), device="cpu", compute_type="int8", cpu_threads=2)
    pieces, _ = BatchedInferencePipeline(model).transcribe(str(path), batch_size=8, beam_size=5, word_timestamps=True)
    return tuple(
        Segment(p.start, p.end, p.text, tuple(Word(w.start, w.end, w.word, w.probability) for w in p.words))
        for p in pieces
    )


@pytest.fixture(scope="session")
def sample_segments() -> tuple[Segment, ...]:
    """The sample through faster-whisper's BatchedInferencePipeline directly, so only alignment is under test."""
    return _base_words(SAMPLE_WAV)


@pytest.fixture(scope="session")
def real_session_words():
    """A 3-minute session re-sequenced from the sample's real voices (tests/datagen.py, seed 0): its reference and
    faster-whisper base words."""
    from tests.datagen import real_voice_session

    session = real_voice_session(minutes=3.0, seed=0)
    return session, tuple(w for s in _base_words(session.wav) for w in s.words)


@pytest.fixture(scope="session")
def sample_words(sample_segments) -> tuple[Word, ...]:
    return tuple(w for s in sample_segments for w in s.words)


@pytest.fixture(scope="session")
def reference_turns() -> tuple[SpeakerTurn, ...]:
    return tuple(read_rttm(SAMPLE_RTTM))


@pytest.fixture(scope="session")
def reference_utterances() -> tuple[StmUtterance, ...]:
    """sample.stm's utterances: the word reference for therapybridge.evaluation's attribution scoring."""
    return tuple(read_stm(SAMPLE_STM))
