"""Voices for the role tests: enrollment clips spoken from scripts the sessions never use, real-voice splits of
the pyannote sample, reference centroids, and the role-accuracy score.

Sessions come from the shared generator (``tests.datagen``); enrollment clips use the same espeak-ng voice
parameters (``datagen.VOICES``) with different sentences, so a profile never hears the session's words.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests import datagen
from tests.references import SAMPLE_STM
from therapybridge.evaluation import read_stm
from therapybridge.types import SpeakerInfo, SpeakerTurn, Word

SAMPLE_RATE = datagen.SAMPLE_RATE

# Sentences that appear in no datagen script: enrollment never hears the session's words.
ENROLL_SCRIPT = (
    "Thank you for coming in today, please take a seat wherever you like.",
    "Everything we discuss here stays between us, with a few exceptions I will explain.",
    "I would like to start by asking what brought you here.",
    "Many people find the first appointment a little strange, and that is fine.",
    "We can go at whatever pace feels right for you.",
)
# More sentences, for a second enrollment sample of the same voice.
MORE_SCRIPT = (
    "If anything I say does not fit, please tell me so.",
    "Our sessions usually last fifty minutes, once a week.",
    "Let me check that I understood you correctly.",
)

# espeak-ng voices that appear in no generated session: extra different-voice pairs for calibration, distinct
# base voices or variants (one base voice with only its pitch changed is the same voice to CAM++: 0.96).
UNSEEN_VOICES = (
    ("en-us+f2", 62, 170),
    ("en+m1", 45, 150),
    ("en-029+m2", 50, 155),
    ("en-gb-x-rp+f5", 70, 165),
)


def espeak_clip(path: Path, voice: tuple[str, int, int], sentences: Sequence[str] = ENROLL_SCRIPT) -> Path:
    """Speak ``sentences`` with one espeak-ng voice into a 16 kHz WAV, with short pauses between them."""
    if not path.exists():
        rng = np.random.default_rng(7)
        pieces = []
        for sentence in sentences:
            pieces.append(datagen._espeak(sentence, *voice) * 0.8)
            pieces.append((rng.standard_normal(int(0.4 * SAMPLE_RATE)) * 1e-3).astype(np.float32))
        datagen.write_wav(path, np.concatenate(pieces))
    return path


# ---------------------------------------------------------------- the real voices of the pyannote sample


@dataclass(frozen=True)
class Session:
    """A session with reference utterances, small enough to build in memory."""

    audio: np.ndarray
    utterances: tuple[datagen.Utterance, ...]

    @property
    def turns(self) -> tuple[SpeakerTurn, ...]:
        return tuple(SpeakerTurn(u.start, u.end, u.speaker) for u in self.utterances)

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({u.speaker for u in self.utterances}))


def sample_folds() -> dict[str, tuple[list, list]]:
    """Each sample speaker's STM utterances split in two folds (alternating, in time order)."""
    by_speaker: dict[str, list] = {}
    for u in read_stm(SAMPLE_STM):
        by_speaker.setdefault(u.speaker, []).append(u)
    return {s: (us[0::2], us[1::2]) for s, us in by_speaker.items()}


def sample_fold_indices(speaker: str, fold: int) -> tuple[int, ...]:
    """Positions in ``sample.stm`` (0-based, file order) of ``speaker``'s utterances in ``fold``."""
    mine = [i for i, u in enumerate(read_stm(SAMPLE_STM)) if u.speaker == speaker]
    return tuple(mine[fold::2])


def held_out_session(speaker: str, enrolled_fold: int, minutes: float = 5.0, seed: int = 0) -> datagen.GeneratedAudio:
    """A two-speaker session re-sequenced by the shared generator from every sample utterance except the ones
    ``speaker`` was enrolled from; its reference turns keep the overlaps and backchannels inside each cut."""
    return datagen.real_voice_session(minutes, seed, exclude=sample_fold_indices(speaker, enrolled_fold))


def _sample_audio() -> np.ndarray:
    return datagen.read_wav(datagen.SAMPLE_WAV)[0]


def sample_enrollment_clip(path: Path, speaker: str, fold: int) -> Path:
    """The utterances of ``speaker`` in ``fold`` joined into one enrollment WAV."""
    audio = _sample_audio()
    pieces = []
    for u in sample_folds()[speaker][fold]:
        pieces.append(audio[int(u.start * SAMPLE_RATE) : int(u.end * SAMPLE_RATE)])
        pieces.append(np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.float32))
    datagen.write_wav(path, np.concatenate(pieces))
    return path


def sample_session(fold: int, repeats: int = 3, seed: int = 0) -> Session:
    """A two-speaker session re-sequenced from the utterances of ``fold`` (both speakers), ``repeats`` times over."""
    audio = _sample_audio()
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    utterances = [u for folds in sample_folds().values() for u in folds[fold]]
    order = [u for _ in range(repeats) for u in rng.sample(utterances, len(utterances))]
    out, refs, t = [], [], 0.0
    for u in order:
        gap = noise.standard_normal(int(rng.uniform(0.3, 1.0) * SAMPLE_RATE)).astype(np.float32) * 1e-3
        out.append(gap)
        t += len(gap) / SAMPLE_RATE
        clip = audio[int(u.start * SAMPLE_RATE) : int(u.end * SAMPLE_RATE)]
        out.append(clip)
        refs.append(datagen.Utterance(round(t, 3), round(t + len(clip) / SAMPLE_RATE, 3), u.speaker, u.text))
        t += len(clip) / SAMPLE_RATE
    return Session(np.concatenate(out), tuple(refs))


# ---------------------------------------------------------------- centroids, words and the score


def reference_centroids(
    audio: np.ndarray, turns: Sequence, device: str = "cpu", piece_seconds: float = 4.0, max_seconds: float = 60.0
) -> dict[str, np.ndarray]:
    """Each reference speaker's centroid: the mean CAM++ embedding of ~4 s pieces of their own turns (the first
    ``max_seconds`` of their speech, which keeps the cost bounded)."""
    from therapybridge.roles.enroll import embed_pieces

    by_speaker: dict[str, list[np.ndarray]] = {}
    for t in turns:
        by_speaker.setdefault(t.speaker, []).append(audio[int(t.start * SAMPLE_RATE) : int(t.end * SAMPLE_RATE)])
    centroids = {}
    size = int(piece_seconds * SAMPLE_RATE)
    for speaker, clips in by_speaker.items():
        speech = np.concatenate(clips)[: int(max_seconds * SAMPLE_RATE)]
        count = max(1, round(len(speech) / size))
        edges = np.linspace(0, len(speech), count + 1).astype(int)
        pieces = [speech[a:b] for a, b in zip(edges, edges[1:]) if b - a >= SAMPLE_RATE]
        centroids[speaker] = embed_pieces(pieces, device)
    return centroids


def reference_words(utterances: Sequence[datagen.Utterance]) -> list[Word]:
    """The reference words, timed evenly across their utterance, each with its reference speaker."""
    words = []
    for u in utterances:
        tokens = u.text.split()
        step = (u.end - u.start) / max(len(tokens), 1)
        for i, token in enumerate(tokens):
            words.append(Word(u.start + i * step, u.start + (i + 1) * step, token, 1.0, u.speaker))
    return words


def role_accuracy(
    reference: Sequence[Word],
    hypothesis: Sequence[Word],
    speakers: Sequence[SpeakerInfo],
    expected_roles: Mapping[str, str | None],
) -> float:
    """Share of words whose labelled role equals the role of their reference speaker (words paired by position)."""
    role_of = {s.id: s.role for s in speakers}
    right = sum(expected_roles.get(r.speaker) == role_of.get(h.speaker) for r, h in zip(reference, hypothesis, strict=True))
    return right / max(len(reference), 1)
