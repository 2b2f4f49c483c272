"""Therapist and client by name: enrolled voice profiles matched to the diarizer's speakers.

::

    store = ProfileStore()                                    # or ProfileStore("path/to/profiles")
    store.enroll("Dr. Rivera", "therapist", ["rivera.wav"], device="cpu")
    speakers = label_speakers(result.speakers, result.centroids, store)

Profiles hold embeddings only, never audio; see :mod:`therapybridge.roles.store` for where they live and
:mod:`therapybridge.roles.labelling` for the calibrated threshold.
"""

from .enroll import build_profile, embed_sample, embedding_model_id
from .labelling import DEFAULT_MARGIN, DEFAULT_THRESHOLD, label_speakers, label_with_options, match_profiles, similarity_matrix
from .store import ROLES, Profile, ProfileStore, default_profiles_dir

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_THRESHOLD",
    "ROLES",
    "Profile",
    "ProfileStore",
    "build_profile",
    "default_profiles_dir",
    "embed_sample",
    "embedding_model_id",
    "label_speakers",
    "label_with_options",
    "match_profiles",
    "similarity_matrix",
]
