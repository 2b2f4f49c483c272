"""TimeMap: trimmed clock → original clock."""

from __future__ import annotations

import json

import numpy as np
import pytest

from therapybridge import errors
from therapybridge.audio import TimeMap
from therapybridge.types import Segment, SpeakerTurn, Word

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


def test_segments_and_their_words_come_back_on_the_original_clock():
    # 2 s kept, 3 s removed, then 2 s kept: trimmed 1.5-2.5 straddles the cut.
    time_map = TimeMap(((0.0, 2.0), (5.0, 7.0)), 7.0)
    words = (Word(0.2, 0.6, "before", 0.9), Word(1.8, 2.4, "across", 0.9), Word(2.6, 3.0, "after", 0.9))
    (segment,) = time_map.map_segments([Segment(0.0, 3.0, "before across after", words, "SPEAKER_00")])
    # "across" has its midpoint (2.1 s) after the cut: it moves whole, by 3 s, and keeps its length.
    assert [(round(w.start, 6), round(w.end, 6)) for w in segment.words] == [(0.2, 0.6), (4.8, 5.4), (5.6, 6.0)]
    assert (segment.start, segment.end) == (0.0, 6.0)
    assert segment.speaker == "SPEAKER_00" and segment.text == "before across after"


def test_a_turn_across_a_removed_pause_is_split_there():
    time_map = TimeMap(((0.0, 2.0), (5.0, 7.0)), 7.0)
    turns = time_map.map_turns([SpeakerTurn(1.0, 3.0, "A"), SpeakerTurn(3.5, 4.0, "B")])
    assert [(t.start, t.end, t.speaker) for t in turns] == [(1.0, 2.0, "A"), (5.0, 6.0, "A"), (6.5, 7.0, "B")]
