"""The online clusterer: speakers open as they appear, hints bound them, merges are reported, memory is capped."""

from __future__ import annotations

import numpy as np

from therapybridge.live.clustering import OnlineClusterer


def _voice(rng: np.random.Generator, centre: np.ndarray, spread: float = 0.3) -> np.ndarray:
    v = centre + spread * rng.standard_normal(centre.shape) / np.sqrt(len(centre))
    return v / np.linalg.norm(v)


def _centres(rng: np.random.Generator, n: int, dim: int = 192) -> list[np.ndarray]:
    return [c / np.linalg.norm(c) for c in rng.standard_normal((n, dim))]


def test_two_voices_make_two_speakers_and_each_keeps_its_label():
    rng = np.random.default_rng(0)
    a, b = _centres(rng, 2)
    clusterer = OnlineClusterer(new_similarity=0.5, merge_similarity=0.8)
    labels = [clusterer.assign(_voice(rng, c), 2.0)[0] for c in [a, b] * 20]
    assert clusterer.speakers == ("SPEAKER_00", "SPEAKER_01")
    assert labels[0::2] == ["SPEAKER_00"] * 20 and labels[1::2] == ["SPEAKER_01"] * 20


def test_the_speaker_count_hints_bound_the_clusters():
    rng = np.random.default_rng(1)
    centres = _centres(rng, 4)
    capped = OnlineClusterer(new_similarity=0.5, merge_similarity=0.8, max_speakers=2)
    for c in centres * 5:
        capped.assign(_voice(rng, c), 2.0)
    assert len(capped.speakers) == 2
    # too little speech never opens a speaker of its own
    short = OnlineClusterer(new_similarity=0.5, merge_similarity=0.8, min_new_seconds=1.0)
    short.assign(_voice(rng, centres[0]), 2.0)
    assert short.assign(_voice(rng, centres[1]), 0.5)[0] == "SPEAKER_00"


def test_two_clusters_that_turn_out_to_be_one_voice_merge_into_the_older_one():
    rng = np.random.default_rng(2)
    (a,) = _centres(rng, 1)
    # a strict threshold: the second noisy embedding of the same voice opens a cluster of its own
    clusterer = OnlineClusterer(new_similarity=0.9, merge_similarity=0.75, max_speakers=2)
    assert clusterer.assign(_voice(rng, a, 0.8), 2.0)[0] == "SPEAKER_00"
    assert clusterer.assign(_voice(rng, a, 0.8), 2.0)[0] == "SPEAKER_01"
    # more speech of that voice makes the first centroid its mean, close enough to the second to be one speaker
    merges = []
    for _ in range(50):
        merges += clusterer.assign(_voice(rng, a, 0.8), 2.0)[1]
        if merges:
            break
    assert [(m.source, m.target) for m in merges] == [("SPEAKER_01", "SPEAKER_00")]
    assert clusterer.speakers == ("SPEAKER_00",)
    # labels are never reused: a new voice after the merge is SPEAKER_02
    assert clusterer.assign(_centres(np.random.default_rng(9), 1)[0], 2.0)[0] == "SPEAKER_02"


def test_merges_never_go_below_min_speakers():
    rng = np.random.default_rng(3)
    a, b = _centres(rng, 2)
    clusterer = OnlineClusterer(new_similarity=0.5, merge_similarity=0.75, min_speakers=2)
    clusterer.assign(a, 2.0)
    clusterer.assign(b, 2.0)
    middle = (a + b) / np.linalg.norm(a + b)
    assert all(not clusterer.assign(middle, 4.0)[1] for _ in range(30))
    assert len(clusterer.speakers) == 2


def test_the_embedding_store_is_bounded():
    rng = np.random.default_rng(4)
    a, b = _centres(rng, 2)
    clusterer = OnlineClusterer(new_similarity=0.5, merge_similarity=0.8, reservoir_size=16)
    for c in [a, b] * 500:
        clusterer.assign(_voice(rng, c), 2.0)
    assert clusterer.stored_embeddings() == 32
