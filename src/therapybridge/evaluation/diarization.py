"""Who spoke when: DER, JER and their components (pyannote.metrics), and how overlapped speech is handled.

Turns are anything with ``start``, ``end`` and ``speaker`` (e.g. :class:`therapybridge.types.SpeakerTurn`).
``collar`` follows NIST md-eval: that many seconds are forgiven on *each* side of every reference boundary
(pyannote.metrics' own ``collar`` is the total width, so it is given ``2 * collar``). Overlapped speech is scored.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

Region = tuple[float, float]


@dataclass(frozen=True)
class OverlapScore:
    """Overlapped speech: reference time with two or more speakers, and what the hypothesis made of it.

    ``detected``: share of the reference overlap where the hypothesis has two or more speakers active;
    ``correct``: share where the mapped hypothesis speakers are exactly the reference speakers;
    ``false_alarm``: hypothesis overlap where the reference has fewer than two speakers, as a share of the
    reference speaker time (the DER denominator without collar). ``None`` when the reference has no overlap.
    """

    reference_seconds: float
    detected: float | None
    correct: float | None
    false_alarm: float
    false_alarm_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DiarizationScore:
    """DER and JER with the DER components as shares of the scored reference speaker time (``total``)."""

    der: float
    jer: float
    missed: float
    false_alarm: float
    confusion: float
    total: float
    reference_speakers: int
    hypothesis_speakers: int
    collar: float
    overlap: OverlapScore
    mapping: dict[str, str] = field(default_factory=dict)  # hypothesis speaker -> reference speaker

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "overlap": self.overlap.to_dict(), "mapping": dict(self.mapping)}


def _annotation(turns: Iterable[Any]):
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for index, turn in enumerate(turns):
        if turn.end > turn.start:
            annotation[Segment(turn.start, turn.end), index] = turn.speaker
    return annotation


def _scored_regions(uem: Sequence[Region] | None, *turn_lists: Sequence[Any]) -> list[Region]:
    """The UEM, or from 0 to the last end of any turn when there is none."""
    if uem is not None:
        return sorted((float(s), float(e)) for s, e in uem if e > s)
    return [(0.0, max((t.end for turns in turn_lists for t in turns), default=0.0))]


def score_diarization(reference: Sequence[Any], hypothesis: Sequence[Any], *, uem: Sequence[Region] | None = None,
                      collar: float = 0.0) -> DiarizationScore:
    """DER, JER, missed / false alarm / confusion, speaker counts and overlap handling of ``hypothesis``."""
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate, JaccardErrorRate

    if collar < 0:
        raise ValueError(f"collar must be >= 0 seconds, got {collar}")
    reference, hypothesis = list(reference), list(hypothesis)
    regions = _scored_regions(uem, reference, hypothesis)
    ref, hyp = _annotation(reference), _annotation(hypothesis)
    timeline = Timeline([Segment(s, e) for s, e in regions])
    metric = DiarizationErrorRate(collar=2 * collar, skip_overlap=False)
    detail = metric(ref, hyp, uem=timeline, detailed=True)
    jer = JaccardErrorRate(collar=2 * collar, skip_overlap=False)(ref, hyp, uem=timeline)
    scored_ref, scored_hyp = metric.uemify(ref, hyp, uem=timeline, collar=2 * collar)
    mapping = {str(h): str(r) for h, r in metric.optimal_mapping(scored_ref, scored_hyp).items()}
    total = float(detail["total"])
    share = (lambda seconds: float(seconds) / total) if total else (lambda seconds: 0.0)
    logger.debug("DER %.4f over %.1f s of reference speech, mapping %s", detail["diarization error rate"], total, mapping)
    return DiarizationScore(
        der=float(detail["diarization error rate"]),
        jer=float(jer),
        missed=share(detail["missed detection"]),
        false_alarm=share(detail["false alarm"]),
        confusion=share(detail["confusion"]),
        total=total,
        reference_speakers=len(scored_ref.labels()),
        hypothesis_speakers=len(scored_hyp.labels()),
        collar=collar,
        overlap=score_overlap(reference, hypothesis, mapping, uem=regions),
        mapping=mapping,
    )


def _active_speakers(turns: Sequence[Any], cuts: Sequence[float]) -> list[set[str]]:
    """For each interval between consecutive ``cuts`` (which include every turn boundary), who is speaking."""
    active: list[set[str]] = [set() for _ in range(len(cuts) - 1)]
    for turn in turns:
        for k in range(bisect_left(cuts, turn.start), bisect_left(cuts, turn.end)):
            active[k].add(turn.speaker)
    return active


def score_overlap(reference: Sequence[Any], hypothesis: Sequence[Any], mapping: Mapping[str, str], *,
                  uem: Sequence[Region] | None = None) -> OverlapScore:
    """Overlap detection and attribution, with ``mapping`` (hypothesis -> reference speaker) from the DER."""
    regions = _scored_regions(uem, reference, hypothesis)
    cuts = sorted({t.start for t in [*reference, *hypothesis]} | {t.end for t in [*reference, *hypothesis]}
                  | {x for region in regions for x in region})
    ref_active, hyp_active = _active_speakers(reference, cuts), _active_speakers(hypothesis, cuts)
    overlap = detected = correct = false_alarm = speech = 0.0
    for k, (start, end) in enumerate(zip(cuts, cuts[1:])):
        middle = (start + end) / 2
        if not any(s <= middle < e for s, e in regions):
            continue
        duration, ref_set, hyp_set = end - start, ref_active[k], hyp_active[k]
        speech += duration * len(ref_set)
        if len(ref_set) >= 2:
            overlap += duration
            detected += duration * (len(hyp_set) >= 2)
            correct += duration * ({mapping.get(h, f"(unmapped) {h}") for h in hyp_set} == ref_set)
        elif len(hyp_set) >= 2:
            false_alarm += duration
    return OverlapScore(
        reference_seconds=overlap,
        detected=detected / overlap if overlap else None,
        correct=correct / overlap if overlap else None,
        false_alarm=false_alarm / speech if speech else 0.0,
        false_alarm_seconds=false_alarm,
    )
