"""TimeMap: trimmed clock → original clock."""

from __future__ import annotations

import json

import numpy as np
import pytest

from therapybridge import errors
from therapybridge.audio import TimeMap

# Kept: 1–4 s and 64–70 s of a 100 s recording → trimmed clock 0–3 s and 3–9 s.
MAP = TimeMap(((1.0, 4.0), (64.0, 70.0)), 100.0)


def test_points_map_through_their_span():
    assert MAP.to_original(0.0) == 1.0
    assert MAP.to_original(2.5) == 3.5
    assert MAP.to_original(3.0) == 64.0  # a time on the cut belongs to the span that starts there
    assert MAP.to_original(8.0) == 69.0
    np.testing.assert_array_equal(MAP.to_original(np.array([0.0, 2.5, 3.5, 8.0])), [1.0, 3.5, 64.5, 69.0])
    assert MAP.trimmed_duration == 9.0 and MAP.removed_duration == 91.0


def test_intervals_move_whole_by_their_midpoint():
    # A word straddling the cut keeps its length and lands with the span holding most of it.
    assert MAP.map_interval(2.9, 3.3) == pytest.approx((63.9, 64.3))
    assert MAP.map_interval(2.6, 3.1) == pytest.approx((3.6, 4.1))
    starts, ends = MAP.map_intervals([0.5, 2.9, 4.0], [0.9, 3.3, 4.5])
    np.testing.assert_allclose(starts, [1.5, 63.9, 65.0])
    np.testing.assert_allclose(ends, [1.9, 64.3, 65.5])
    np.testing.assert_allclose(ends - starts, [0.4, 0.4, 0.5])


def test_identity_and_empty_maps():
    same = TimeMap.identity(12.5)
    assert same.is_identity and same.to_original(7.25) == 7.25 and same.map_interval(1.0, 2.0) == (1.0, 2.0)
    assert not MAP.is_identity
    empty = TimeMap((), 20.0)
    assert empty.trimmed_duration == 0.0 and empty.to_original(1.5) == 1.5


def test_round_trip_through_json():
    restored = TimeMap.from_dict(json.loads(json.dumps(MAP.to_dict())))
    assert restored == MAP
    assert restored.map_interval(2.9, 3.3) == MAP.map_interval(2.9, 3.3)


def test_from_samples_uses_exact_sample_times():
    made = TimeMap.from_samples([(16000, 64000), (1024000, 1120000)], 16000, 1600000)
    assert made == MAP


def test_bad_spans_are_rejected():
    with pytest.raises(errors.ConfigurationError):
        TimeMap(((5.0, 4.0),), 10.0)
    with pytest.raises(errors.ConfigurationError):
        TimeMap(((1.0, 4.0), (3.0, 5.0)), 10.0)
    with pytest.raises(errors.ConfigurationError):
        TimeMap.from_dict({"spans": []})
    with pytest.raises(errors.ConfigurationError):
        MAP.map_intervals([1.0, 2.0], [1.5])
