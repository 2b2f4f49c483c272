"""Same-voice and different-voice score distributions behind ``roles.labelling.DEFAULT_THRESHOLD``.

Run ``.venv/bin/python -m tests.roles.calibration`` from the repository root: it enrolls every espeak-ng voice
(the sessions' three and four unseen ones) from a script the sessions never use, and each real sample speaker
from one fold of their utterances, then scores every profile against the speaker centroids of a 2- and a
3-speaker espeak dialogue and of real-voice sessions built from the other fold. It prints the score ranges per
pair kind and the gap the threshold must sit in. ``tests/roles/test_calibration.py`` asserts the same split.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests import datagen
from tests.roles import voices
from therapybridge.roles import DEFAULT_THRESHOLD, Profile, build_profile, similarity_matrix


@dataclass(frozen=True)
class Score:
    profile: str
    speaker: str
    session: str
    kind: str  # "espeak" or "real" (the profile's kind)
    same: bool
    score: float
    margin: float  # score minus the profile's best score against another speaker of the session


def enroll_all(workdir: Path, device: str = "cpu") -> dict[str, Profile]:
    """Profiles for the three session voices, the unseen voices and both real speakers (fold 0 and fold 1)."""
    profiles = {}
    for name, voice in zip(datagen.SPEAKER_NAMES, datagen.VOICES):
        profiles[f"espeak:{name}"] = build_profile(name, "therapist", [voices.espeak_clip(workdir / f"{name}.wav", voice)], device)
    for i, voice in enumerate(voices.UNSEEN_VOICES):
        clip = voices.espeak_clip(workdir / f"unseen{i}.wav", voice)
        profiles[f"espeak:unseen{i}"] = build_profile(f"unseen{i}", "other", [clip], device)
    for speaker in voices.sample_folds():
        for fold in (0, 1):
            clip = voices.sample_enrollment_clip(workdir / f"{speaker}{fold}.wav", speaker, fold)
            profiles[f"real:{speaker}:{fold}"] = build_profile(speaker, "therapist", [clip], device)
    return profiles


def session_centroids(device: str = "cpu") -> dict[str, dict[str, np.ndarray]]:
    """Reference-turn centroids of every calibration session, keyed by session then reference speaker."""
    sessions = {}
    for n in (2, 3):
        gen = datagen.espeak_dialogue(n, 3.0, seed=0)
        sessions[f"espeak{n}"] = voices.reference_centroids(gen.load(), gen.turns, device)
    for fold in (0, 1):
        s = voices.sample_session(fold)
        sessions[f"real-fold{fold}"] = voices.reference_centroids(s.audio, s.turns, device)
    return sessions


def _same(profile_key: str, session: str, speaker: str) -> bool | None:
    """Whether a profile and a session speaker are one voice; None when the pair must not be scored (same fold)."""
    parts = profile_key.split(":")
    if parts[0] == "espeak":
        return session.startswith("espeak") and parts[1] == speaker
    _, name, fold = parts
    if session == f"real-fold{fold}":
        return None  # enrolled from these very utterances
    return session.startswith("real") and name == speaker


def scores(profiles: dict[str, Profile], sessions: dict[str, dict[str, np.ndarray]]) -> list[Score]:
    out = []
    for session, cents in sessions.items():
        speakers = list(cents)
        keys = list(profiles)
        sim = similarity_matrix([cents[s] for s in speakers], [profiles[k] for k in keys])
        for i, speaker in enumerate(speakers):
            for j, key in enumerate(keys):
                same = _same(key, session, speaker)
                others = np.delete(sim[:, j], i)
                margin = float(sim[i, j] - others.max()) if others.size else float("inf")
                if same is not None:
                    out.append(Score(key, speaker, session, key.split(":")[0], same, float(sim[i, j]), margin))
    return out


def summary(all_scores: Iterable[Score]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[float]] = {}
    for s in all_scores:
        session_kind = "espeak" if s.session.startswith("espeak") else "real"
        key = f"{'same' if s.same else 'different'} voice, profile {s.kind}, session {session_kind}"
        groups.setdefault(key, []).append((s.score, s.margin))
    table = {}
    for key, values in sorted(groups.items()):
        score, margin = np.array(values).T
        table[key] = {
            "pairs": len(values),
            "score_min": round(float(score.min()), 3),
            "score_median": round(float(np.median(score)), 3),
            "score_max": round(float(score.max()), 3),
            "margin_min": round(float(margin.min()), 3),
            "margin_max": round(float(margin.max()), 3),
        }
    return table


def calibrate(device: str = "cpu", workdir: Path | None = None) -> list[Score]:
    with tempfile.TemporaryDirectory() as tmp:
        return scores(enroll_all(workdir or Path(tmp), device), session_centroids(device))


def main() -> None:
    results = calibrate()
    table = summary(results)
    if "--json" in sys.argv:
        json.dump({"summary": table, "scores": [s.__dict__ for s in results]}, sys.stdout, indent=1)
        return
    same = [s.score for s in results if s.same]
    different = [s.score for s in results if not s.same]
    for key, row in table.items():
        print(f"{key:48s} {row}")
    print(f"lowest same-voice score {min(same):.3f}, highest different-voice score {max(different):.3f}")
    for s in results:
        if not s.same and s.score >= DEFAULT_THRESHOLD:
            print(f"different voice above the threshold: {s.profile} vs {s.session}/{s.speaker} {s.score:.3f} margin {s.margin:.3f}")


if __name__ == "__main__":
    main()
