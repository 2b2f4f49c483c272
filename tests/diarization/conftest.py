"""Shared fixtures: the engine loaded once, recordings generated once, long diarizations run once per session."""

from __future__ import annotations

import pytest
import torch

from tests.datagen import SAMPLE_RTTM, SAMPLE_WAV, espeak_dialogue, read_rttm, read_wav, real_voice_session
from therapybridge.diarization import DiarizationOptions, load_diarizer


def der(reference_turns, result, duration: float) -> float:
    """pyannote.metrics DER, no collar, overlap scored, over the whole recording."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp = Annotation(), Annotation()
    for i, t in enumerate(reference_turns):
        ref[Segment(t.start, t.end), i] = t.speaker
    for i, t in enumerate(result.turns):
        hyp[Segment(t.start, t.end), i] = t.speaker
    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    return float(metric(ref, hyp, uem=Timeline([Segment(0.0, duration)])))


@pytest.fixture(scope="session")
def diarizer():
    engine = load_diarizer("default", torch.device("cpu"))
    engine.load()
    return engine


@pytest.fixture(scope="session")
def sample():
    audio, rate = read_wav(SAMPLE_WAV)
    return audio, rate, read_rttm(SAMPLE_RTTM)


@pytest.fixture(scope="session")
def sample_result(diarizer, sample):
    audio, rate, _ = sample
    return diarizer.diarize(audio, rate)


@pytest.fixture(scope="session")
def real_session():
    return real_voice_session(minutes=23.0, seed=0)


@pytest.fixture(scope="session")
def real_session_result(diarizer, real_session):
    return diarizer.diarize(real_session.load(), real_session.sample_rate, DiarizationOptions())


@pytest.fixture(scope="session", params=[2, 3], ids=["espeak2", "espeak3"])
def espeak_case(request, diarizer):
    dialogue = espeak_dialogue(n_speakers=request.param, minutes=3.0, seed=0)
    return dialogue, diarizer.diarize(dialogue.load(), dialogue.sample_rate)
