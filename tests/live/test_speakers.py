"""Which audio a run of committed words is embedded from (the frame selection, without the models)."""

from __future__ import annotations

import numpy as np

from therapybridge.live.events import LiveWord
from therapybridge.live.speakers import _frames_of


def _window(seconds: float = 10.0):
    """fbank-like frames every 10 ms and segmentation frames every 50 ms: local speaker 0 alone for the first
    6 s, speaker 1 alone after."""
    feature_times = np.arange(int(seconds * 100)) * 0.01 + 0.005
    features = feature_times[:, None].repeat(2, axis=1)  # each frame carries its own time
    centers = np.arange(int(seconds * 20)) * 0.05 + 0.025
    activity = np.zeros((len(centers), 3), dtype=np.uint8)
    activity[centers < 6.0, 0] = 1
    activity[centers >= 6.0, 1] = 1
    return features, feature_times, activity, centers


def test_without_a_bound_a_run_is_embedded_from_all_of_its_local_speakers_solo_speech():
    features, times, activity, centers = _window()
    run = [LiveWord(5.0, 5.4, "so", 0.9)]
    selected = _frames_of(0, run, features, times, activity, centers)
    assert 5.9 <= len(selected) / 100 <= 6.0 and selected[:, 0].max() < 6.0


def test_with_a_bound_the_speech_nearest_the_run_is_embedded():
    features, times, activity, centers = _window()
    run = [LiveWord(4.0, 4.4, "so", 0.9)]
    selected = _frames_of(0, run, features, times, activity, centers, longest=2.0)
    assert len(selected) == 200
    assert np.all(np.diff(selected[:, 0]) > 0)  # still in time order
    assert 3.0 <= selected[:, 0].min() and selected[:, 0].max() <= 5.4  # around 4.0-4.4, speaker 0's frames only
    other = _frames_of(1, [LiveWord(8.0, 8.2, "yes", 0.9)], features, times, activity, centers, longest=2.0)
    assert len(other) == 200 and other[:, 0].min() >= 6.0
