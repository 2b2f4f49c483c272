"""Session-wide fixtures for the role tests: enrolled profiles and diarized sessions, each computed once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests import datagen
from tests.roles import voices
from therapybridge.types import SpeakerTurn, Word

THERAPIST_VOICE, CLIENT_VOICE, PARTNER_VOICE = datagen.VOICES
OTHER_THERAPIST_VOICE = voices.UNSEEN_VOICES[1]  # en+m1: the closest distinct voice to the session's therapist


@dataclass(frozen=True)
class Diarized:
    """A session run through the diarization engine, with its reference words twice over: ``words`` carry the
    engine speaker that holds most of their reference speaker's time (role labelling measured on its own);
    ``engine_words`` the engine speaker of their own moment (labelling and diarization errors together)."""

    reference_words: tuple[Word, ...]
    words: tuple[Word, ...]
    engine_words: tuple[Word, ...]
    speakers: tuple[str, ...]
    centroids: dict[str, np.ndarray]


@pytest.fixture(scope="session")
def roles_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("roles")


@pytest.fixture(scope="session")
def therapist_clip(roles_dir) -> Path:
    """The session therapist's espeak voice speaking a script that no session uses."""
    return voices.espeak_clip(roles_dir / "therapist-enrollment.wav", THERAPIST_VOICE)


@pytest.fixture(scope="session")
def therapist_profile(therapist_clip):
    from therapybridge.roles import build_profile

    return build_profile("Dr. Rivera", "therapist", [therapist_clip], "cpu")


@pytest.fixture(scope="session")
def other_therapist_profile(roles_dir):
    """A therapist who is in none of the espeak sessions (a distinct espeak voice)."""
    from therapybridge.roles import build_profile

    clip = voices.espeak_clip(roles_dir / "other-therapist.wav", OTHER_THERAPIST_VOICE)
    return build_profile("Dr. Okafor", "therapist", [clip], "cpu")


@pytest.fixture(scope="session")
def diane_profile(roles_dir):
    """Diane of the pyannote sample, enrolled as therapist from her fold-0 utterances."""
    from therapybridge.roles import build_profile

    clip = voices.sample_enrollment_clip(roles_dir / "diane-fold0.wav", "Diane", 0)
    return build_profile("Diane", "therapist", [clip], "cpu")


def _diarize(audio: np.ndarray, utterances, **options) -> Diarized:
    from therapybridge.align import assign_speakers
    from therapybridge.diarization import DiarizationOptions, load_diarizer

    result = load_diarizer("default", "cpu").diarize(audio, 16000, DiarizationOptions(**options))
    reference = tuple(voices.reference_words(utterances))
    unlabelled = [Word(w.start, w.end, w.word, w.probability) for w in reference]
    engine_words = assign_speakers(unlabelled, [SpeakerTurn(t.start, t.end, t.speaker) for t in result.turns])
    mapping = _dominant_speaker(utterances, result.turns)
    words = tuple(Word(w.start, w.end, w.word, w.probability, mapping.get(w.speaker)) for w in reference)
    return Diarized(reference, words, tuple(engine_words), tuple(result.speakers), dict(result.centroids))


def _dominant_speaker(utterances, turns) -> dict[str, str]:
    """Reference speaker -> the engine speaker whose turns overlap theirs the longest."""
    overlap: dict[str, dict[str, float]] = {}
    for u in utterances:
        for t in turns:
            shared = min(u.end, t.end) - max(u.start, t.start)
            if shared > 0:
                row = overlap.setdefault(u.speaker, {})
                row[t.speaker] = row.get(t.speaker, 0.0) + shared
    return {ref: max(row, key=row.get) for ref, row in overlap.items()}


@pytest.fixture(scope="session")
def espeak2():
    gen = datagen.espeak_dialogue(2, 3.0, seed=0)
    return _diarize(gen.load(), gen.utterances)


@pytest.fixture(scope="session")
def espeak3():
    gen = datagen.espeak_dialogue(3, 3.0, seed=0)
    return _diarize(gen.load(), gen.utterances)


@pytest.fixture(scope="session")
def real_session():
    """Five minutes of Diane and Sheila re-sequenced from every sample utterance except Diane's fold-0 ones (her
    enrollment), so the profile never hears the session's audio.

    The engine is told there are two speakers, as a clinician would for a therapy session: Diane's four held-out
    cuts, repeated sample for sample, form tight clusters of their own, and unhinted the engine splits her in two
    or three speakers on 3-10 minute sessions, and then no profile matches clearly (measured: 7 of 9 sessions).
    """
    session = voices.held_out_session("Diane", enrolled_fold=0, minutes=5.0, seed=0)
    return _diarize(session.load(), session.utterances, num_speakers=2)
