"""Array-level speaker assignment: every word interval to one speaker, in O((W + T) log T + (W + T) · S).

The turns are folded once into a *coverage table* over the sorted turn boundaries (for each elementary interval
between two consecutive boundaries: which speakers talk, their cumulative talk time, the latest turn end and the
earliest turn start of each speaker around it). Each word is then placed with two binary searches and scored against
every speaker by table look-ups, so a word costs O(log T + S) whatever the number of turns it overlaps, and turns of
one speaker that overlap each other are never double-counted. ``S`` is the number of distinct speakers (a handful).

Choice of speaker for one word ``[a, b]`` (lexicographic):

1. the largest overlap with the speaker's talk time;
2. then the smallest distance to one of the speaker's turns (a word in a gap, or a zero-length word, has no
   overlap with anybody and goes to the nearest turn; a zero-length word inside a turn is at distance 0);
3. then the largest overlap with the widened window ``[a - context, b + context]`` (two turns that both cover the
   word entirely: the one that goes on around it wins);
4. then the lowest speaker index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

logger = logging.getLogger(__name__)

# Overlaps closer than this (seconds) are a tie: timestamps carry 10 ms resolution at best.
TIE_TOLERANCE = 1e-6
# Word-speaker cells per chunk, bounding the memory of the (words x speakers) score arrays.
_CHUNK_CELLS = 1 << 21


@dataclass(frozen=True)
class CoverageTable:
    """Turns folded over their sorted boundaries; row ``i`` describes the interval ``[bounds[i], bounds[i+1])``."""

    bounds: np.ndarray  # (n,) sorted unique turn boundaries
    active: np.ndarray  # (n, S) bool: speaker talks in [bounds[i], bounds[i+1])
    talk: np.ndarray  # (n, S) float: speaker's cumulative talk time up to bounds[i]
    last_end: np.ndarray  # (n, S) float: latest end of a speaker's turn at or before bounds[i] (-inf if none)
    next_start: np.ndarray  # (n, S) float: earliest start of a speaker's turn at or after bounds[i] (+inf if none)

    @property
    def n_speakers(self) -> int:
        return int(self.active.shape[1])


@dataclass(frozen=True)
class SpeakerScores:
    """The chosen speaker of each word and how clear the timing evidence for it was."""

    speaker: np.ndarray  # (W,) int64, -1 when there are no turns
    overlap: np.ndarray  # (W,) seconds shared with the chosen speaker
    rival_overlap: np.ndarray  # (W,) seconds shared with the best other speaker
    distance: np.ndarray  # (W, S) seconds from the word to each speaker's nearest turn (0 when touching)


def build_coverage(turn_starts: Any, turn_ends: Any, turn_speaker_idx: Any, n_speakers: int | None = None) -> CoverageTable:
    """Fold turns (any order, may overlap, may be zero-length) into a :class:`CoverageTable`. O(T log T + T · S)."""
    starts = np.asarray(turn_starts, dtype=np.float64).reshape(-1)
    ends = np.asarray(turn_ends, dtype=np.float64).reshape(-1)
    spk = np.asarray(turn_speaker_idx, dtype=np.int64).reshape(-1)
    starts, ends = np.minimum(starts, ends), np.maximum(starts, ends)
    n_spk = int(n_speakers if n_speakers is not None else (spk.max() + 1 if spk.size else 0))
    bounds = np.unique(np.concatenate([starts, ends]))
    n = bounds.size
    i_start = np.searchsorted(bounds, starts)
    i_end = np.searchsorted(bounds, ends)

    depth = np.zeros((n + 1, n_spk), dtype=np.int64)
    np.add.at(depth, (i_start, spk), 1)
    np.add.at(depth, (i_end, spk), -1)
    active = np.cumsum(depth, axis=0)[:n] > 0

    lengths = np.diff(bounds, append=bounds[-1] if n else 0.0)
    talk = np.zeros((n, n_spk))
    if n > 1:
        talk[1:] = np.cumsum(active[:-1] * lengths[:-1, None], axis=0)

    last_end = np.full((n, n_spk), -np.inf)
    np.maximum.at(last_end, (i_end, spk), ends)
    last_end = np.maximum.accumulate(last_end, axis=0) if n else last_end
    next_start = np.full((n, n_spk), np.inf)
    np.minimum.at(next_start, (i_start, spk), starts)
    next_start = np.ascontiguousarray(np.minimum.accumulate(next_start[::-1], axis=0)[::-1]) if n else next_start
    return CoverageTable(bounds, active, talk, last_end, next_start)


def fill_missing_times(word_starts: Any, word_ends: Any) -> tuple[np.ndarray, np.ndarray]:
    """Give words without timestamps (NaN) the gap between their timed neighbours in reading order.

    A word with only one timestamp becomes a point there. Words with no timed neighbour on either side keep NaN
    (only possible when no word at all has a timestamp).
    """
    a = np.asarray(word_starts, dtype=np.float64).reshape(-1).copy()
    b = np.asarray(word_ends, dtype=np.float64).reshape(-1).copy()
    a = np.where(np.isnan(a), b, a)
    b = np.where(np.isnan(b), a, b)
    missing = np.isnan(a)
    if missing.any() and not missing.all():
        idx = np.arange(a.size)
        prev_idx = np.maximum.accumulate(np.where(~missing, idx, -1))
        next_idx = np.minimum.accumulate(np.where(~missing, idx, a.size)[::-1])[::-1]
        prev_end = np.where(prev_idx >= 0, b[np.clip(prev_idx, 0, None)], np.nan)
        next_start = np.where(next_idx < a.size, a[np.clip(next_idx, None, a.size - 1)], np.nan)
        prev_end = np.where(np.isnan(prev_end), next_start, prev_end)
        next_start = np.where(np.isnan(next_start), prev_end, next_start)
        lo, hi = np.minimum(prev_end, next_start), np.maximum(prev_end, next_start)
        a = np.where(missing, lo, a)
        b = np.where(missing, hi, b)
    return np.minimum(a, b), np.maximum(a, b)


def _talk_until(table: CoverageTable, t: np.ndarray) -> np.ndarray:
    """Each speaker's talk time in ``(-inf, t]`` for every time in ``t``: shape (len(t), S)."""
    i = np.searchsorted(table.bounds, t, side="right") - 1
    inside = i >= 0
    ic = np.clip(i, 0, None)
    since = np.where(inside, t - table.bounds[ic], 0.0)[:, None]
    return np.where(inside[:, None], table.talk[ic] + table.active[ic] * since, 0.0)


def _score_chunk(table: CoverageTable, a: np.ndarray, b: np.ndarray, context: float) -> tuple[np.ndarray, ...]:
    overlap = _talk_until(table, b) - _talk_until(table, a)
    window = _talk_until(table, b + context) - _talk_until(table, a - context)
    n = table.bounds.size
    # Latest end of each speaker at or before b, earliest start at or after a (rows clipped into the table,
    # then discarded when the word lies outside the turns' span).
    row_b = np.searchsorted(table.bounds, b, side="right") - 1
    row_a = np.searchsorted(table.bounds, a, side="left")
    last_end = np.where((row_b >= 0)[:, None], table.last_end[np.clip(row_b, 0, None)], -np.inf)
    next_start = np.where((row_a < n)[:, None], table.next_start[np.clip(row_a, None, n - 1)], np.inf)
    row_in = np.clip(np.searchsorted(table.bounds, a, side="right") - 1, 0, None)
    inside = table.active[row_in] & (table.bounds[row_in] <= a)[:, None]  # a point inside a turn
    touching = (overlap > TIE_TOLERANCE) | inside | (last_end >= a[:, None]) | (next_start <= b[:, None])
    gap = np.minimum(a[:, None] - last_end, next_start - b[:, None])
    distance = np.where(touching, 0.0, np.maximum(gap, 0.0))
    return overlap, window, distance


def _choose(overlap: np.ndarray, window: np.ndarray, distance: np.ndarray, xp: Any = np) -> tuple[Any, Any, Any]:
    best = overlap.max(1, keepdims=True) if xp is np else overlap.amax(1, keepdim=True)
    candidate = overlap >= best - TIE_TOLERANCE
    inf = float("inf")
    d = xp.where(candidate, distance, inf)
    nearest = d.min(1, keepdims=True) if xp is np else d.amin(1, keepdim=True)
    candidate = candidate & (d <= nearest + TIE_TOLERANCE)
    w = xp.where(candidate, window, -inf)
    widest = w.max(1, keepdims=True) if xp is np else w.amax(1, keepdim=True)
    candidate = candidate & (w >= widest - TIE_TOLERANCE)
    chosen = candidate.argmax(1) if xp is np else candidate.int().argmax(1)  # first candidate
    rows = xp.arange(overlap.shape[0])
    chosen_overlap = overlap[rows, chosen]
    others = overlap.clone() if xp is not np else overlap.copy()
    others[rows, chosen] = -inf
    rival = others.max(1) if xp is np else others.amax(1)
    rival = xp.maximum(rival, xp.zeros_like(rival)) if xp is not np else np.maximum(rival, 0.0)
    return chosen, chosen_overlap, rival


def score_words(
    word_starts: Any,
    word_ends: Any,
    table: CoverageTable,
    *,
    context: float = 0.25,
    device: "torch.device | str | None" = None,
) -> SpeakerScores:
    """Score every word against every speaker and choose one speaker per word (see the module docstring)."""
    a, b = fill_missing_times(word_starts, word_ends)
    n_words, n_spk = a.size, table.n_speakers
    if n_spk == 0 or table.bounds.size == 0:
        empty = np.zeros(n_words)
        return SpeakerScores(np.full(n_words, -1, dtype=np.int64), empty, empty.copy(), np.zeros((n_words, 0)))
    untimed = np.isnan(a)
    if untimed.any():  # no word has a timestamp: everybody goes to whoever talks most
        a = np.where(untimed, table.bounds[0], a)
        b = np.where(untimed, table.bounds[-1], b)
    if _use_torch(device, n_words, n_spk):
        return _score_words_torch(a, b, table, context, device)
    chosen = np.empty(n_words, dtype=np.int64)
    chosen_overlap = np.empty(n_words)
    rival = np.empty(n_words)
    distance = np.empty((n_words, n_spk))
    step = max(1, _CHUNK_CELLS // max(n_spk, 1))
    for lo in range(0, n_words, step):
        sl = slice(lo, lo + step)
        overlap, window, dist = _score_chunk(table, a[sl], b[sl], context)
        chosen[sl], chosen_overlap[sl], rival[sl] = _choose(overlap, window, dist)
        distance[sl] = dist
    return SpeakerScores(chosen, chosen_overlap, rival, distance)


def assign_speaker_indices(
    word_starts: Any,
    word_ends: Any,
    turn_starts: Any,
    turn_ends: Any,
    turn_speaker_idx: Any,
    *,
    context: float = 0.25,
    device: "torch.device | str | None" = None,
) -> np.ndarray:
    """The speaker index of every word (``-1`` for all words when there are no turns).

    Words may be in any order, may be zero-length, and may have NaN timestamps (they take the gap between their
    timed neighbours in the given order). Turns may be in any order and may overlap.
    """
    table = build_coverage(turn_starts, turn_ends, turn_speaker_idx)
    return score_words(word_starts, word_ends, table, context=context, device=device).speaker


# ---------------------------------------------------------------------------------------------------------------
# torch path: the same look-ups on an accelerator, for very large inputs when the pipeline runs on a GPU.

# Below this many word-speaker cells the host<->device copies cost more than numpy's whole computation.
TORCH_MIN_CELLS = 4_000_000


def _use_torch(device: Any, n_words: int, n_spk: int) -> bool:
    if device is None:
        return False
    kind = getattr(device, "type", str(device).split(":", 1)[0])
    # MPS has no float64, and float32 seconds lose millisecond resolution within an hour-long session.
    return kind == "cuda" and n_words * n_spk >= TORCH_MIN_CELLS


def _score_words_torch(a: np.ndarray, b: np.ndarray, table: CoverageTable, context: float, device: Any) -> SpeakerScores:
    import torch

    dev = torch.device(device)
    f64 = torch.float64
    bounds = torch.as_tensor(table.bounds, dtype=f64, device=dev)
    active = torch.as_tensor(table.active, device=dev)
    talk = torch.as_tensor(table.talk, dtype=f64, device=dev)
    last_end = torch.as_tensor(table.last_end, dtype=f64, device=dev)
    next_start = torch.as_tensor(table.next_start, dtype=f64, device=dev)
    ta = torch.as_tensor(a, dtype=f64, device=dev)
    tb = torch.as_tensor(b, dtype=f64, device=dev)

    def talk_until(t: "torch.Tensor") -> "torch.Tensor":
        i = torch.searchsorted(bounds, t, right=True) - 1
        inside = i >= 0
        ic = i.clamp(min=0)
        since = torch.where(inside, t - bounds[ic], torch.zeros_like(t))[:, None]
        return torch.where(inside[:, None], talk[ic] + active[ic] * since, torch.zeros_like(talk[ic]))

    overlap = talk_until(tb) - talk_until(ta)
    window = talk_until(tb + context) - talk_until(ta - context)
    n = bounds.numel()
    row_b = torch.searchsorted(bounds, tb, right=True) - 1
    row_a = torch.searchsorted(bounds, ta)
    last = torch.where((row_b >= 0)[:, None], last_end[row_b.clamp(min=0)], torch.full_like(overlap, -float("inf")))
    nxt = torch.where((row_a < n)[:, None], next_start[row_a.clamp(max=n - 1)], torch.full_like(overlap, float("inf")))
    row_in = (torch.searchsorted(bounds, ta, right=True) - 1).clamp(min=0)
    inside = active[row_in] & (bounds[row_in] <= ta)[:, None]
    touching = (overlap > TIE_TOLERANCE) | inside | (last >= ta[:, None]) | (nxt <= tb[:, None])
    gap = torch.minimum(ta[:, None] - last, nxt - tb[:, None])
    distance = torch.where(touching, torch.zeros_like(gap), gap.clamp(min=0.0))
    chosen, chosen_overlap, rival = _choose(overlap, window, distance, xp=torch)
    return SpeakerScores(
        chosen.cpu().numpy().astype(np.int64),
        chosen_overlap.cpu().numpy(),
        rival.cpu().numpy(),
        distance.cpu().numpy(),
    )
