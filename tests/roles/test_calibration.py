"""The documented threshold and margin separate same-voice from different-voice pairs on the calibration data."""

from __future__ import annotations

import pytest

from tests.roles import calibration
from therapybridge.roles.labelling import DEFAULT_MARGIN, DEFAULT_THRESHOLD


@pytest.fixture(scope="module")
def scores(roles_dir):
    return calibration.calibrate(workdir=roles_dir)


def _matches(s: calibration.Score) -> bool:
    return s.score >= DEFAULT_THRESHOLD and s.margin >= DEFAULT_MARGIN


@pytest.mark.slow
def test_every_same_voice_pair_matches(scores):
    same = [s for s in scores if s.same]
    assert {s.kind for s in same} == {"espeak", "real"} and len(same) == 9
    assert all(_matches(s) for s in same), [s for s in same if not _matches(s)]


@pytest.mark.slow
def test_no_different_voice_pair_matches(scores):
    different = [s for s in scores if not s.same]
    assert len(different) > 60
    assert not any(_matches(s) for s in different), [s for s in different if _matches(s)]
    print(calibration.summary(scores))
