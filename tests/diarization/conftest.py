"""Shared fixtures: the engine loaded once, recordings generated once, long diarizations run once per session."""

from __future__ import annotations

import pytest
import torch

from tests.datagen import SAMPLE_RTTM, SAMPLE_WAV, espeak_dialogue, read_wav
from therapybridge.diarization import load_diarizer
from therapybridge.evaluation import read_rttm, score_diarization


def der(reference_turns, result, duration: float) -> float:
    """DER of a diarization result over the whole recording (no collar, overlap scored)."""
    return score_diarization(reference_turns, result.turns, uem=[(0.0, duration)]).der


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


@pytest.fixture(scope="session", params=[2, 3], ids=["espeak2", "espeak3"])
def espeak_case(request, diarizer):
    dialogue = espeak_dialogue(n_speakers=request.param, minutes=3.0, seed=0)
    return dialogue, diarizer.diarize(dialogue.load(), dialogue.sample_rate)
