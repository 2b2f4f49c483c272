"""DER / JER / components and overlap figures on small cases worked out by hand."""

from __future__ import annotations

import pytest

from therapybridge.evaluation import score_diarization, score_overlap
from therapybridge.types import SpeakerTurn as T

REF = [T(0, 10, "A"), T(10, 20, "B")]
# x is A except 8-10 (confusion 2 s), y stops 1 s early (missed 1 s), x talks 21-22 (false alarm 1 s).
HYP = [T(0, 8, "x"), T(8, 19, "y"), T(21, 22, "x")]


def test_der_and_components_without_collar():
    score = score_diarization(REF, HYP)
    assert score.mapping == {"x": "A", "y": "B"}
    assert score.total == pytest.approx(20.0)
    assert (score.missed, score.false_alarm, score.confusion) == pytest.approx((1 / 20, 1 / 20, 2 / 20))
    assert score.der == pytest.approx(4 / 20)
    assert (score.reference_speakers, score.hypothesis_speakers) == (2, 2)


def test_jer_averages_the_per_speaker_jaccard_errors():
    # A~x: union 11 s, fa 1 (21-22), miss 2 (8-10); B~y: union 12 s (8-20), fa 2 (8-10), miss 1 (19-20).
    assert score_diarization(REF, HYP).jer == pytest.approx((3 / 11 + 3 / 12) / 2)


def test_collar_forgives_that_many_seconds_on_each_side_of_reference_boundaries():
    # Collars 0±0.5, 10±0.5, 20±0.5 leave 18 s of reference: confusion 8-9.5, missed 19-19.5, false alarm 21-22.
    score = score_diarization(REF, HYP, collar=0.5)
    assert score.total == pytest.approx(18.0)
    assert (score.missed, score.false_alarm, score.confusion) == pytest.approx((0.5 / 18, 1 / 18, 1.5 / 18))
    assert score.der == pytest.approx(3 / 18)


def test_uem_limits_scoring_to_its_regions():
    score = score_diarization(REF, HYP, uem=[(0.0, 10.0)])
    assert score.total == pytest.approx(10.0)
    assert score.der == pytest.approx(2 / 10)  # only the confusion at 8-10 is inside


def test_perfect_hypothesis_with_other_labels_scores_zero():
    score = score_diarization(REF, [T(0, 10, "s1"), T(10, 20, "s0")])
    assert (score.der, score.jer) == (0.0, 0.0)
    assert score.mapping == {"s1": "A", "s0": "B"}


def test_extra_hypothesis_speaker_is_counted_and_confused():
    score = score_diarization(REF, [T(0, 10, "x"), T(10, 15, "y"), T(15, 20, "z")])
    assert (score.hypothesis_speakers, score.reference_speakers) == (3, 2)
    assert score.confusion == pytest.approx(5 / 20)


OVERLAP_REF = [T(0, 10, "A"), T(5, 15, "B")]  # 5 s of overlap (5-10); 20 s of speaker time
# hypothesis overlap 6-8 with the right pair; 8-9 y and an unmapped z (two voices, one wrong);
# 16-17 both x and y where the reference is silent (overlap false alarm).
OVERLAP_HYP = [T(0, 8, "x"), T(6, 15, "y"), T(8, 9, "z"), T(16, 17, "x"), T(16, 17, "y")]


def test_overlap_detection_correct_speakers_and_false_alarm():
    score = score_diarization(OVERLAP_REF, OVERLAP_HYP)
    assert score.mapping == {"x": "A", "y": "B"}
    overlap = score.overlap
    assert overlap.reference_seconds == pytest.approx(5.0)
    assert overlap.detected == pytest.approx(3 / 5)
    assert overlap.correct == pytest.approx(2 / 5)
    assert overlap.false_alarm_seconds == pytest.approx(1.0)
    assert overlap.false_alarm == pytest.approx(1 / 20)


def test_overlap_with_the_wrong_mapping_is_not_correct_and_no_reference_overlap_gives_none():
    swapped = score_overlap(OVERLAP_REF, [T(5, 10, "x"), T(5, 10, "y")], {"x": "A", "y": "C"})
    assert (swapped.detected, swapped.correct) == (1.0, 0.0)
    none = score_overlap(REF, REF, {"A": "A", "B": "B"})
    assert (none.reference_seconds, none.detected, none.correct, none.false_alarm) == (0.0, None, None, 0.0)


def test_to_dict_is_plain_data():
    data = score_diarization(OVERLAP_REF, OVERLAP_HYP).to_dict()
    assert data["overlap"]["reference_seconds"] == pytest.approx(5.0)
    assert data["mapping"] == {"x": "A", "y": "B"}
    assert set(data) >= {"der", "jer", "missed", "false_alarm", "confusion", "reference_speakers", "hypothesis_speakers"}
