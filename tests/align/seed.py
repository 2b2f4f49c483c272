"""The seed report's speaker alignment, kept as the anchor that tests and ``benchmarks/bench_align.py`` beat."""

from __future__ import annotations

from therapybridge.types import SpeakerTurn, Word


def seed_nested_loop(words: list[Word], turns: list[SpeakerTurn]) -> list[Word]:
    """The seed report's alignment: every word against every turn, keeping the largest positive overlap."""
    out = []
    for w in words:
        best, best_overlap = None, 0.0
        for t in turns:
            overlap = min(w.end, t.end) - max(w.start, t.start)
            if overlap > best_overlap:
                best, best_overlap = t.speaker, overlap
        out.append(Word(w.start, w.end, w.word, w.probability, best))
    return out
