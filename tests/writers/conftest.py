"""Transcripts to render: the sample session's reference (real speech, times and speakers) and awkward cases."""

from __future__ import annotations

import pytest

from tests.references import SAMPLE_RTTM, SAMPLE_STM
from therapybridge.evaluation import read_rttm, read_stm
from therapybridge.types import AudioInfo, Segment, SpeakerInfo, SpeakerTurn, Transcript, Word


def _spread_words(text: str, start: float, end: float, speaker: str | None) -> tuple[Word, ...]:
    tokens = text.split()
    step = (end - start) / len(tokens)
    return tuple(
        Word(round(start + k * step, 3), round(start + (k + 1) * step, 3), f" {tok}", 0.9, speaker)
        for k, tok in enumerate(tokens)
    )


@pytest.fixture(scope="session")
def sample_reference_transcript() -> Transcript:
    return build_sample_reference_transcript()


def build_sample_reference_transcript() -> Transcript:
    """sample.stm as a transcript: one segment per utterance, words spread over it, labels and roles set."""
    segments = tuple(
        Segment(u.start, u.end, " " + u.text, _spread_words(u.text, u.start, u.end, u.speaker), u.speaker)
        for u in read_stm(SAMPLE_STM)
    )
    speakers = (
        SpeakerInfo("Diane", "Therapist (Dr. Rivera)", "therapist", 0.71),
        SpeakerInfo("Sheila", "Client", "client", None),
    )
    return Transcript(
        audio=AudioInfo("tests/data/sample.wav", 30.0),
        language="en",
        segments=segments,
        speakers=speakers,
        performance_metrics={"total_duration": 4.2, "stages": {"Speaker Alignment": {"duration": 0.001}}},
        provenance={"tool_version": "0.1.0", "schema_version": "1.0", "model": "base", "model_sha256": "905e5bf8",
                    "settings": {"align": {"smoothing": True}}},
    )


@pytest.fixture(scope="session")
def diarized_transcript(sample_reference_transcript) -> Transcript:
    """The reference transcript carrying sample.rttm as the diarizer's turns (one overlap at 18.15 s)."""
    names = {"speaker90": "Diane", "speaker91": "Sheila"}
    turns = tuple(SpeakerTurn(t.start, t.end, names[t.speaker]) for t in read_rttm(SAMPLE_RTTM))
    return sample_reference_transcript.with_changes(turns=turns)


@pytest.fixture(scope="session")
def awkward_transcript() -> Transcript:
    """Markup-like text, a colon, unicode, a long segment, an untimed word, no-speaker text, times past one hour."""
    long_words = tuple(
        Word(3600.0 + 0.5 * k, 3600.0 + 0.5 * k + 0.4, f" word{k}{'.' if k % 9 == 8 else ''}", 0.8, "SPEAKER_01")
        for k in range(40)
    )
    segments = (
        Segment(1.0, 2.5, " Note: <b>5 > 3</b> & “quotes” --> café", (
            Word(1.0, 1.4, " Note:", 0.9, "SPEAKER_00"),
            Word(1.4, 1.8, " <b>5", 0.9, "SPEAKER_00"),
            Word(None, None, " >", None, "SPEAKER_00"),
            Word(1.9, 2.5, " 3</b> & “quotes” --> café", 0.9, "SPEAKER_00"),
        ), "SPEAKER_00"),
        Segment(2.6, 3.0, " Mm-hmm.", (Word(2.6, 3.0, " Mm-hmm.", 0.5, "SPEAKER_00"),), "SPEAKER_00"),
        Segment(3600.0, 3620.0, "".join(w.word for w in long_words), long_words, "SPEAKER_01"),
        Segment(3700.0, 3701.0, " (no speaker)", (), None),
    )
    return Transcript(
        audio=AudioInfo("/recordings/session one.m4a", 3701.0),
        language="en",
        segments=segments,
        speakers=(SpeakerInfo("SPEAKER_00", "SPEAKER_00"), SpeakerInfo("SPEAKER_01", "SPEAKER_01")),
    )
