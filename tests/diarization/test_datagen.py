"""The shared generator of long test audio: deterministic, references consistent with the audio."""

from __future__ import annotations

import numpy as np

from tests.datagen import espeak_dialogue, real_voice_session
from therapybridge.evaluation import read_rttm


def _speech_energy_agrees(generated) -> None:
    audio = generated.load()
    rate = generated.sample_rate
    inside = np.zeros(len(audio), dtype=bool)
    for t in generated.turns:
        inside[int(t.start * rate) : int(t.end * rate)] = True
    assert inside.any() and (~inside).any()
    # Reference speech is loud, everything outside it is room noise far below.
    assert np.sqrt(np.mean(audio[inside] ** 2)) > 30 * np.sqrt(np.mean(audio[~inside] ** 2))


def test_real_voice_session_is_long_two_speaker_and_deterministic():
    first = real_voice_session(minutes=20.0, seed=1)
    assert first.duration >= 20 * 60
    assert first.speakers == ("Diane", "Sheila")
    assert {t.speaker for t in first.turns} == set(first.speakers)
    assert read_rttm(first.rttm) == list(first.turns)
    gaps = [b.start - a.end for a, b in zip(first.utterances, first.utterances[1:])]
    assert max(gaps) >= 5.0 and min(gaps) >= 0.19
    assert all(u.text for u in first.utterances)
    _speech_energy_agrees(first)
    assert real_voice_session(minutes=20.0, seed=1) == first


def test_espeak_dialogue_turns_are_tight():
    dialogue = espeak_dialogue(n_speakers=3, minutes=3.0, seed=0)
    assert dialogue.num_speakers == 3 and dialogue.duration >= 170
    audio, rate = dialogue.load(), dialogue.sample_rate
    for t in dialogue.turns[:20]:
        edge = int(0.03 * rate)
        head = audio[int(t.start * rate) : int(t.start * rate) + edge]
        assert np.abs(head).max() > 0.01  # speech starts right at the turn start, not after espeak's silence
    _speech_energy_agrees(dialogue)
