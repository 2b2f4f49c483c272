"""Word-speaker accuracy: the share of recognised words attributed to the right speaker.

Hypothesis and reference words are normalised (lower-cased, punctuation stripped, in-word apostrophes kept),
aligned by edit distance, hypothesis speakers are mapped one-to-one onto reference speakers in the way that gets
most aligned words right (Hungarian assignment), and the aligned pairs (matches and substitutions) are counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class _SpokenWord(Protocol):
    word: str
    speaker: str | None


@dataclass(frozen=True)
class WordSpeakerScore:
    """The result of :func:`score_word_speakers`."""

    accuracy: float
    aligned: int
    correct: int
    mapping: dict[str, str] = field(default_factory=dict)  # hypothesis speaker -> reference speaker

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "aligned": self.aligned, "correct": self.correct, "mapping": self.mapping}


def normalize_tokens(text: str) -> list[str]:
    """Lower-cased tokens without punctuation (in-word apostrophes kept: "didn't" stays one token)."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^\w\s']", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return text.split()


def _tokens(words: Iterable[_SpokenWord]) -> tuple[list[str], list[str | None]]:
    tokens: list[str] = []
    speakers: list[str | None] = []
    for w in words:
        for token in normalize_tokens(w.word):
            tokens.append(token)
            speakers.append(w.speaker)
    return tokens, speakers


def align_tokens(hyp: Sequence[str], ref: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs ``(i_hyp, i_ref)`` joined by a match or substitution in a minimum edit-distance alignment.

    Rows of the distance table are computed with numpy (insertions via a running minimum), so a 20-minute session
    (a few thousand words) aligns in well under a second; memory is ``len(hyp) * len(ref)`` 32-bit integers.
    """
    n, m = len(hyp), len(ref)
    if n == 0 or m == 0:
        return []
    vocab: dict[str, int] = {}
    h = np.array([vocab.setdefault(t, len(vocab)) for t in hyp])
    r = np.array([vocab.setdefault(t, len(vocab)) for t in ref])
    cols = np.arange(m + 1, dtype=np.int32)
    table = np.empty((n + 1, m + 1), dtype=np.int32)
    table[0] = cols
    for i in range(1, n + 1):
        prev = table[i - 1]
        row = np.empty(m + 1, dtype=np.int32)
        row[0] = i
        row[1:] = np.minimum(prev[1:] + 1, prev[:-1] + (r != h[i - 1]))
        # deletions along the row: row[j] = min_k<=j (row[k] + j - k)
        table[i] = np.minimum.accumulate(row - cols) + cols
    pairs = []
    i, j = n, m
    while i > 0 and j > 0:
        diagonal = table[i - 1, j - 1] + (h[i - 1] != r[j - 1])
        if table[i, j] == diagonal:
            pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif table[i, j] == table[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


def score_word_speakers(hyp_words: Iterable[_SpokenWord], ref_words: Iterable[_SpokenWord]) -> WordSpeakerScore:
    """Word-speaker accuracy with its counts and the best one-to-one speaker mapping."""
    from scipy.optimize import linear_sum_assignment

    hyp, hyp_spk = _tokens(hyp_words)
    ref, ref_spk = _tokens(ref_words)
    pairs = align_tokens(hyp, ref)
    if not pairs:
        return WordSpeakerScore(0.0, 0, 0)
    hyp_labels = sorted({hyp_spk[i] for i, _ in pairs if hyp_spk[i] is not None})
    ref_labels = sorted({ref_spk[j] for _, j in pairs if ref_spk[j] is not None})
    counts = np.zeros((len(hyp_labels), len(ref_labels)), dtype=np.int64)
    h_index = {s: k for k, s in enumerate(hyp_labels)}
    r_index = {s: k for k, s in enumerate(ref_labels)}
    for i, j in pairs:
        if hyp_spk[i] is not None and ref_spk[j] is not None:
            counts[h_index[hyp_spk[i]], r_index[ref_spk[j]]] += 1
    rows, cols = linear_sum_assignment(counts, maximize=True) if counts.size else ((), ())
    correct = int(sum(counts[a, b] for a, b in zip(rows, cols)))
    mapping = {hyp_labels[a]: ref_labels[b] for a, b in zip(rows, cols)}
    return WordSpeakerScore(correct / len(pairs), len(pairs), correct, mapping)


def word_speaker_accuracy(hyp_words: Iterable[_SpokenWord], ref_words: Iterable[_SpokenWord]) -> float:
    """Share of aligned hypothesis words whose (mapped) speaker is the reference speaker."""
    return score_word_speakers(hyp_words, ref_words).accuracy
