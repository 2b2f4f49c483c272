"""The worker's progress reports: each stage as it starts, the percent never going back."""

from __future__ import annotations

from therapybridge.pipeline import STAGE_ALIGNMENT, STAGE_ASR, STAGE_DIARIZATION, STAGE_PREPROCESS, STAGE_WRITING
from therapybridge.server.worker import STAGE_PERCENT, forward_only


def test_a_stage_started_again_after_a_later_one_keeps_the_progress_where_it_was():
    reports: list[tuple[str, float]] = []
    report = forward_only(lambda stage, percent: reports.append((stage, percent)))
    # The pipeline's order when diarization runs after recognition: gap recovery re-enters recognition after
    # diarization, and alignment is entered twice (attribution, then speakers and roles).
    for stage in (STAGE_PREPROCESS, STAGE_ASR, STAGE_DIARIZATION, STAGE_ASR, STAGE_ALIGNMENT, STAGE_ALIGNMENT,
                  STAGE_WRITING):
        report(stage)
    assert [stage for stage, _ in reports][3] == STAGE_ASR  # the stage is named as it is
    percents = [percent for _, percent in reports]
    assert percents == sorted(percents)
    assert percents[3] == STAGE_PERCENT[STAGE_DIARIZATION] and percents[-1] == STAGE_PERCENT[STAGE_WRITING]
