"""The array core against a brute-force statement of the same rule, and its edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from therapybridge.align import assign_speaker_indices
from therapybridge.align.core import TIE_TOLERANCE, build_coverage, fill_missing_times, score_words


def brute_force(word_starts, word_ends, turn_starts, turn_ends, turn_speakers, context=0.25, short_turn=2.0):
    """The rule of the module docstring, word by word and turn by turn (O(W * T))."""
    n_spk = max(turn_speakers) + 1 if len(turn_speakers) else 0
    intervals = [sorted((s, e) for s, e, k in zip(turn_starts, turn_ends, turn_speakers) if k == spk) for spk in range(n_spk)]

    def union_overlap(spans, a, b):
        total, reach = 0.0, -np.inf
        for s, e in spans:  # sorted by start: count each instant once
            s = max(s, reach)
            if e > s:
                total += max(0.0, min(e, b) - max(s, a))
                reach = e
        return total

    def distance(spans, a, b):
        best = np.inf
        for s, e in spans:
            if s <= b and e >= a and (min(e, b) - max(s, a) > 0 or s <= a < e or e == a or s == b or a == b == s):
                return 0.0
            best = min(best, max(s - b, a - e, 0.0))
        return best

    def spans(turns):  # overlapping or touching turns of one speaker joined
        joined = []
        for s, e in turns:
            if joined and s <= joined[-1][1]:
                joined[-1][1] = max(joined[-1][1], e)
            else:
                joined.append([s, e])
        return joined

    joined = [spans(sp) for sp in intervals]
    out = []
    for a, b in zip(word_starts, word_ends):
        if n_spk == 0:
            out.append(-1)
            continue
        ov = [union_overlap(sp, a, b) for sp in intervals]
        win = [union_overlap(sp, a - context, b + context) for sp in intervals]
        dist = [0.0 if ov[k] > TIE_TOLERANCE else distance(intervals[k], a, b) for k in range(n_spk)]
        cand = [k for k in range(n_spk) if ov[k] >= max(ov) - TIE_TOLERANCE]
        near = min(dist[k] for k in cand)
        cand = [k for k in cand if dist[k] <= near + TIE_TOLERANCE]
        if len(cand) > 1 and max(ov) > TIE_TOLERANCE:  # rule 3: a short turn holding the word beats a long one
            held = {k: sum(e - s for s, e in joined[k] if e > a and s < b) or np.inf for k in cand}
            if min(held.values()) <= short_turn and max(held.values()) > short_turn:
                cand = [k for k in cand if held[k] <= min(held.values()) + TIE_TOLERANCE]
        least = min(win[k] for k in cand)
        cand = [k for k in cand if win[k] <= least + TIE_TOLERANCE]
        middle = (a + b) / 2
        started = [max((s for s, _ in intervals[k] if s <= middle), default=-np.inf) for k in range(n_spk)]
        out.append(max(cand, key=lambda k: (started[k], -k)))
    return np.array(out)


@pytest.mark.parametrize("seed", range(40))
def test_matches_brute_force_on_random_overlapping_turns(seed):
    rng = np.random.default_rng(seed)
    n_turns, n_words, n_spk = rng.integers(1, 40), rng.integers(1, 200), rng.integers(1, 5)
    # Times on a 10 ms grid so that exact ties, shared edges and zero-length items occur.
    ts = np.round(rng.uniform(0, 60, n_turns), 2)
    te = np.round(ts + rng.choice([0.0, 0.3, 1.0, 4.0], n_turns) * rng.uniform(0, 1, n_turns), 2)
    spk = rng.integers(0, n_spk, n_turns)
    ws = np.round(rng.uniform(-2, 62, n_words), 2)
    we = np.round(ws + rng.choice([0.0, 0.1, 0.5], n_words), 2)
    got = assign_speaker_indices(ws, we, ts, te, spk)
    want = brute_force(ws, we, ts, te, spk)
    np.testing.assert_array_equal(got, want)


def test_word_in_a_gap_takes_the_nearest_turn():
    got = assign_speaker_indices([1.1, 1.8, 5.0, -1.0], [1.2, 1.9, 6.0, -0.5], [0, 2], [1, 3], [0, 1])
    np.testing.assert_array_equal(got, [0, 1, 1, 0])


def test_overlapping_turns_are_resolved_by_overlap_length():
    # A talks 0-4.3, B from 4.0: the word 4.1-4.6 shares 0.2 s with A and 0.5 s with B.
    assert assign_speaker_indices([4.1], [4.6], [0, 4], [4.3, 10], [0, 1]).tolist() == [1]


def test_turns_of_one_speaker_that_overlap_are_not_counted_twice():
    # A's turns 0-2 and 1-2 cover 1.5-2.0 once (0.5 s); B covers 1.5-2.3 (0.8 s).
    assert assign_speaker_indices([1.5], [2.3], [0, 1, 1.4], [2, 2, 2.6], [0, 0, 1]).tolist() == [1]


def test_a_word_covered_by_two_turns_goes_to_the_turn_that_stops_around_it():
    # Both cover 4.2-4.8 entirely; A goes on around it, B's short turn (4.0-5.0) inside A's is the word's own:
    # a backchannel or interjection the diarizer found inside A's long turn.
    assert assign_speaker_indices([4.2], [4.8], [0, 4.0], [10, 5.0], [0, 1]).tolist() == [1]
    # Not only for speaker 1: the short turn wins whichever index it has.
    assert assign_speaker_indices([4.2], [4.8], [4.0, 0], [5.0, 10], [0, 1]).tolist() == [0]


def test_two_turns_that_both_go_on_around_a_word_prefer_the_one_that_started_nearer():
    # Both cover 4.0-5.0 and go on well beyond the context window; B started at 3.0, A at 0.
    assert assign_speaker_indices([4.0], [5.0], [0, 3.0], [10, 9.0], [0, 1]).tolist() == [1]


def test_zero_length_words_and_turns():
    got = assign_speaker_indices([0.5, 4.9, 3.0], [0.5, 4.95, 3.0], [0, 5.0, 3.0], [1, 5.0, 3.5], [0, 1, 2])
    np.testing.assert_array_equal(got, [0, 1, 2])


def test_unsorted_inputs_give_the_same_answer_as_sorted_ones():
    rng = np.random.default_rng(7)
    ts = np.sort(rng.uniform(0, 100, 50))
    te = ts + rng.uniform(0.1, 3, 50)
    spk = rng.integers(0, 3, 50)
    ws = np.sort(rng.uniform(0, 100, 300))
    we = ws + 0.2
    want = assign_speaker_indices(ws, we, ts, te, spk)
    tp, wp = rng.permutation(50), rng.permutation(300)
    got = assign_speaker_indices(ws[wp], we[wp], ts[tp], te[tp], spk[tp])
    np.testing.assert_array_equal(got, want[wp])


def test_missing_timestamps_take_the_gap_between_timed_neighbours():
    a, b = fill_missing_times([0.0, np.nan, 2.0, np.nan, np.nan], [1.0, np.nan, 3.0, 3.5, np.nan])
    np.testing.assert_allclose(a, [0.0, 1.0, 2.0, 3.5, 3.5])
    np.testing.assert_allclose(b, [1.0, 2.0, 3.0, 3.5, 3.5])
    # The untimed word between A's word and B's word is placed by the time between them.
    got = assign_speaker_indices([0.0, np.nan, 2.6], [0.5, np.nan, 3.0], [0, 1.0], [1.2, 3.0], [0, 1])
    np.testing.assert_array_equal(got, [0, 1, 1])


def test_no_timestamps_at_all_goes_to_whoever_talks_most():
    got = assign_speaker_indices([np.nan, np.nan], [np.nan, np.nan], [0, 1], [1, 9], [0, 1])
    np.testing.assert_array_equal(got, [1, 1])


def test_empty_inputs():
    assert assign_speaker_indices([], [], [0], [1], [0]).shape == (0,)
    np.testing.assert_array_equal(assign_speaker_indices([0.0], [1.0], [], [], []), [-1])


def test_torch_path_agrees_with_numpy(monkeypatch):
    torch = pytest.importorskip("torch")
    from therapybridge.align import core

    rng = np.random.default_rng(3)
    ts = np.round(rng.uniform(0, 300, 400), 2)
    te = np.round(ts + rng.uniform(0, 5, 400), 2)
    table = build_coverage(ts, te, rng.integers(0, 4, 400))
    ws = np.round(rng.uniform(-5, 305, 3000), 2)
    we = np.round(ws + rng.choice([0.0, 0.2, 0.6], 3000), 2)
    on_numpy = score_words(ws, we, table)
    # Run the torch code on whatever device is here (the CPU in CI), bypassing the size threshold.
    device = "cuda" if torch.cuda.is_available() else "cpu"
    monkeypatch.setattr(core, "_use_torch", lambda *args: True)
    on_torch = score_words(ws, we, table, device=device)
    np.testing.assert_array_equal(on_torch.speaker, on_numpy.speaker)
    np.testing.assert_allclose(on_torch.overlap, on_numpy.overlap, atol=1e-9)
    np.testing.assert_allclose(on_torch.rival_overlap, on_numpy.rival_overlap, atol=1e-9)


def test_torch_path_only_for_large_inputs_on_cuda():
    from therapybridge.align.core import TORCH_MIN_CELLS, _use_torch

    assert not _use_torch(None, 10**7, 4)
    assert not _use_torch("cpu", 10**7, 4)
    assert not _use_torch("mps", 10**7, 4)
    assert not _use_torch("cuda", 1000, 2)
    assert _use_torch("cuda:0", TORCH_MIN_CELLS, 1)
