"""LocalActivity: a second voice heard from segmentation-3.0's probabilities under the most likely class."""

from __future__ import annotations

import numpy as np

from therapybridge.diarization.segmentation import LocalActivity


def _local(activity: np.ndarray, marginal: np.ndarray | None) -> LocalActivity:
    return LocalActivity(activity=activity, step=5.0, window=10.0, frame_start=0.0, frame_duration=0.0619,
                         frame_step=0.0169, duration=10.0, marginal=marginal)


def test_a_likely_second_voice_is_added_only_where_another_speaks():
    activity = np.zeros((1, 6, 3), dtype=np.uint8)
    activity[0, 0:4, 0] = 1  # speaker 0 talks in frames 0-3; nobody in 4-5
    marginal = np.zeros((1, 6, 3), dtype=np.float16)
    marginal[0, :, 0] = 0.9
    marginal[0, [1, 2], 1] = 0.3  # speaker 1 likely enough under speaker 0 in frames 1-2 ...
    marginal[0, 3, 1] = 0.1  # ... not in frame 3
    marginal[0, 5, 2] = 0.4  # speaker 2 alone in frame 5: not a second voice, left as the argmax said (silence)
    out = _local(activity, marginal).with_second_voices(0.2)
    assert out.activity[0, :, 1].tolist() == [0, 1, 1, 0, 0, 0]
    assert out.activity[0, :, 0].tolist() == [1, 1, 1, 1, 0, 0]
    assert out.activity[0, :, 2].tolist() == [0] * 6
    assert activity[0, :, 1].sum() == 0  # the input is untouched


def test_without_probabilities_the_activity_is_kept():
    activity = np.ones((1, 4, 3), dtype=np.uint8)
    local = _local(activity, None)
    assert local.with_second_voices(0.1) is local
