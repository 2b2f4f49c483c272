"""Name the speakers of a diarized session from enrolled voice profiles.

Each speaker's centroid (the diarizer's mean CAM++ embedding) is compared with every enrolled profile by cosine
similarity. A speaker-profile pair is eligible when its similarity reaches ``DEFAULT_THRESHOLD`` (0.72) *and*
beats the profile's similarity to every other speaker of the session by ``DEFAULT_MARGIN`` (0.09): the session's
other voices serve as impostors, which matters because raw CAM++ similarities share a large common component
(two different synthetic voices reach 0.81). Speakers and profiles are then paired one-to-one by the assignment
that maximises the total similarity over eligible pairs (Hungarian).

Calibration (``python -m tests.roles.calibration``; asserted by ``tests/roles/test_calibration.py``): profiles
enrolled from a script (espeak-ng) or utterances (real voices) that the session never uses; session centroids
from 4 s pieces of each speaker's reference turns; "margin" is the score minus the profile's best score against
another speaker of the same session.

===============================================  =====  ===============  ================
pairs                                            n      score min - max  margin min - max
===============================================  =====  ===============  ================
same voice, espeak-ng (3 session voices)             5  0.957 - 0.981    0.248 - 0.278
same voice, real (Diane, Sheila; 2 folds)            4  0.782 - 0.856    0.124 - 0.340
different voice, espeak profile, espeak session     30  0.472 - 0.808    -0.401 - 0.114
different voice, espeak profile, real session       28  0.268 - 0.446    -0.075 - 0.075
different voice, real profile, espeak session       20  0.289 - 0.391    -0.073 - 0.064
different voice, real profile, real session          4  0.482 - 0.658    -0.340 - -0.124
===============================================  =====  ===============  ================

No single threshold separates the kinds (lowest same-voice 0.782 < highest different-voice 0.808), the pair of
rules does: every different-voice pair at or above 0.72 has a margin of at most 0.042, every same-voice pair
has 0.124 or more; the different pairs with a margin of 0.09 or more score at most 0.670, every same-voice
pair 0.782 or more. 0.72 and 0.09 sit inside both gaps. The same espeak voice with only its pitch changed
scores 0.96 (CAM++ hears timbre, not pitch), so the calibration's unseen voices differ in base voice or variant.
Real same-voice scores rest on 3-9 s enrollments of phone audio; longer, cleaner enrollments score higher.
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


def label_with_options(
    speaker_ids: Sequence[str], centroids: Mapping[str, np.ndarray], options: object = None
) -> tuple[SpeakerInfo, ...]:
    """What the pipeline calls after diarization: ``label_speakers`` against the store ``options`` names.

    ``options`` is a ``RoleOptions`` (or a dict of its fields, or None for the defaults). With ``enabled`` false
    every speaker keeps a neutral label. A damaged or unreadable default store is logged and ignored, so a bad
    profile never costs a transcript; a store the user named explicitly raises :class:`ProfileError`.
    """
    from ..config import RoleOptions
    from ..errors import ProfileError

    if options is None:
        options = RoleOptions()
    elif isinstance(options, Mapping):
        options = RoleOptions(**options)
    if not options.enabled:
        return tuple(SpeakerInfo(s, s, None, None) for s in dict.fromkeys(speaker_ids))
    store = ProfileStore(options.profiles_dir)
    try:
        profiles = store.list()
    except ProfileError as exc:
        if options.profiles_dir is not None:
            raise
        logger.warning("voice profiles not used: %s", exc)
        profiles = ()
    return label_speakers(speaker_ids, centroids, profiles)
