"""Reference data and scoring shared by the tests: sample.stm/rttm readers, WER and DER."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

DATA = Path(__file__).resolve().parent / "data"
SAMPLE_WAV = DATA / "sample.wav"
SAMPLE_RTTM = DATA / "sample.rttm"
SAMPLE_STM = DATA / "sample.stm"


@dataclass(frozen=True)
class Utterance:
    speaker: str
    start: float
    end: float
    text: str


def read_stm(path: Path = SAMPLE_STM) -> list[Utterance]:
    utterances = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) >= 5:
            utterances.append(Utterance(parts[2], float(parts[3]), float(parts[4]), parts[5] if len(parts) > 5 else ""))
    return utterances


def read_rttm(path: Path = SAMPLE_RTTM) -> list[tuple[float, float, str]]:
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts and parts[0] == "SPEAKER":
            start, duration = float(parts[3]), float(parts[4])
            turns.append((start, start + duration, parts[7]))
    return turns


def normalize_text(text: str) -> str:
    """Lower-case, strip punctuation (keeping in-word apostrophes), collapse whitespace."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w\s']", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalize_text(reference), normalize_text(hypothesis)))


def reference_text(path: Path = SAMPLE_STM) -> str:
    return " ".join(u.text for u in read_stm(path))


def der(reference: Iterable[tuple[float, float, str]], hypothesis: Iterable[tuple[float, float, str]]) -> float:
    """Diarization error rate with pyannote.metrics: no collar, overlap scored."""
    from pyannote.core import Annotation, Segment
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(turns: Iterable[tuple[float, float, str]]) -> Annotation:
        ann = Annotation()
        for index, (start, end, speaker) in enumerate(turns):
            if end > start:
                ann[Segment(start, end), index] = speaker
        return ann

    metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
    return float(metric(annotation(reference), annotation(hypothesis)))
