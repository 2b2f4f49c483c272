"""The bundled real sample and its references (tests/data/sample.{wav,rttm,stm}); scoring is therapybridge.evaluation."""

from __future__ import annotations

from pathlib import Path

from therapybridge.evaluation import read_stm

DATA = Path(__file__).resolve().parent / "data"
SAMPLE_WAV = DATA / "sample.wav"
SAMPLE_RTTM = DATA / "sample.rttm"
SAMPLE_STM = DATA / "sample.stm"


def reference_text(path: Path = SAMPLE_STM) -> str:
    """The words of an STM file in order, as one text (for WER)."""
    return " ".join(u.text for u in read_stm(path))
