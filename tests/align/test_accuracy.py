"""Word-speaker accuracy on the real sample: faster-whisper base words, the reference turns as diarization."""

from __future__ import annotations

from therapybridge.align import align_transcript, assign_speakers, score_word_speakers, word_speaker_accuracy
from therapybridge.align.metrics import align_tokens
from tests.align.seed import seed_nested_loop
from therapybridge.types import Word


def test_metric_counts_mapped_speakers_over_aligned_words():
    ref = [Word(0, 1, "Hello, there.", speaker="Ann"), Word(1, 2, "Hi Ann!", speaker="Bob")]
    hyp = [Word(0, 1, " hello", speaker="S1"), Word(0, 1, " there", speaker="S1"), Word(1, 2, " hi", speaker="S0"),
           Word(1, 2, " and", speaker="S1")]
    score = score_word_speakers(hyp, ref)
    assert score.mapping == {"S1": "Ann", "S0": "Bob"}
    assert (score.aligned, score.correct) == (4, 3)  # "and" is a substitution for "ann" with the wrong speaker
    assert word_speaker_accuracy([], ref) == 0.0
    assert align_tokens(["a", "x", "b"], ["a", "b"]) == [(0, 0), (2, 1)]


def test_reference_turns_give_at_least_097(sample_words, reference_turns, reference_words):
    aligned = assign_speakers(sample_words, reference_turns)
    score = score_word_speakers(aligned, reference_words)
    assert score.aligned >= 60
    assert score.accuracy >= 0.97, score


def test_align_transcript_on_the_sample_keeps_every_word_and_splits_at_changes(sample_segments, reference_turns, reference_words):
    out = align_transcript(sample_segments, reference_turns)
    words = [w for s in out for w in s.words]
    assert [w.word for w in words] == [w.word for s in sample_segments for w in s.words]
    assert all(w.speaker in {"speaker90", "speaker91"} for w in words)
    assert all(len({w.speaker for w in s.words}) == 1 and s.speaker == s.words[0].speaker for s in out)
    assert all(s.text == "".join(w.word for w in s.words) for s in out)
    # The reference has ten turns but eight changes of speaker (one turn continues over a backchannel); every
    # change gives a new segment and nothing else does: nine segments, alternating.
    reference = [t.speaker for t in sorted(reference_turns, key=lambda t: t.start)]
    assert sum(a != b for a, b in zip(reference, reference[1:])) == 8
    assert len(out) == 9 and all(a.speaker != b.speaker for a, b in zip(out, out[1:]))
    assert word_speaker_accuracy(words, reference_words) >= 0.97


def test_smoothing_helps_on_real_turn_edges_and_only_moves_edge_words(sample_words, reference_turns, reference_words):
    plain = assign_speakers(sample_words, reference_turns, {"smoothing": False})
    smoothed = assign_speakers(sample_words, reference_turns)
    moved = [w for w, p in zip(smoothed, plain) if w.speaker != p.speaker]
    assert moved, "no word at a real turn edge was ambiguous"
    edges = [t for turn in reference_turns for t in (turn.start, turn.end)]
    for w in moved:  # every moved word straddles, or lies within 0.5 s of, a reference turn edge
        assert any(w.start - 0.5 <= edge <= w.end + 0.5 for edge in edges), w
    assert word_speaker_accuracy(smoothed, reference_words) > word_speaker_accuracy(plain, reference_words)


def test_better_than_the_seed_nested_loop(sample_words, reference_turns, reference_words):
    seed = word_speaker_accuracy(seed_nested_loop(sample_words, reference_turns), reference_words)
    ours = word_speaker_accuracy(assign_speakers(sample_words, reference_turns), reference_words)
    assert seed < 0.97 <= ours


def test_end_to_end_with_the_project_s_own_diarization(sample_transcript, reference_words):
    """The whole pipeline (default settings) on the sample: every word attributed, >= 0.90 right."""
    words = sample_transcript.words
    assert words and all(w.speaker is not None for w in words)
    assert word_speaker_accuracy(words, reference_words) >= 0.90
