"""Word-speaker accuracy on the real sample: faster-whisper base words, the reference turns as diarization.

Scored with therapybridge.evaluation (Whisper's normaliser, jiwer's alignment, speakers mapped by the diarization's
optimal DER mapping; word-speaker accuracy over the recognised words): ``score_turns_and_words`` with the turns the
words were assigned from as the hypothesis diarization.
"""

from __future__ import annotations

from tests.align.seed import seed_nested_loop
from therapybridge.align import align_transcript, assign_speakers
from therapybridge.evaluation import AttributionScore, score_turns_and_words


def attribution(words, hypothesis_turns, reference_turns, utterances) -> AttributionScore:
    score = score_turns_and_words(list(reference_turns), list(hypothesis_turns), list(words), list(utterances))
    return score.attribution


def test_reference_turns_give_at_least_097(sample_words, reference_turns, reference_utterances):
    aligned = assign_speakers(sample_words, reference_turns)
    score = attribution(aligned, reference_turns, reference_turns, reference_utterances)
    assert score.recognised_words >= 60
    # Measured 0.975 on the pipeline's words (align.metrics: 0.973); with reference turns on real_voice_session
    # (3 min) seeds 0-2: 0.977, 0.960, 0.980. Threshold unchanged: it holds on this file with 0.005 to spare.
    assert score.word_speaker_accuracy >= 0.97, score


def test_align_transcript_on_the_sample_keeps_every_word_and_splits_at_changes(sample_segments, reference_turns,
                                                                              reference_utterances):
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
    assert attribution(words, reference_turns, reference_turns, reference_utterances).word_speaker_accuracy >= 0.97


def test_smoothing_helps_on_real_turn_edges_and_only_moves_edge_words(sample_words, reference_turns,
                                                                     reference_utterances):
    plain = assign_speakers(sample_words, reference_turns, {"smoothing": False})
    smoothed = assign_speakers(sample_words, reference_turns)
    moved = [w for w, p in zip(smoothed, plain) if w.speaker != p.speaker]
    assert moved, "no word at a real turn edge was ambiguous"
    edges = [t for turn in reference_turns for t in (turn.start, turn.end)]
    for w in moved:  # every moved word straddles, or lies within 0.5 s of, a reference turn edge
        assert any(w.start - 0.5 <= edge <= w.end + 0.5 for edge in edges), w
    score = lambda words: attribution(words, reference_turns, reference_turns, reference_utterances)  # noqa: E731
    # Under therapybridge.evaluation's definition the sample cannot show the gain (measured 0.975 with and without
    # smoothing; align.metrics' per-word mapping gave 0.947 -> 0.973 on the pipeline's words): it must not hurt
    # here and must help on a longer real-voice session (below).
    assert score(smoothed).word_speaker_accuracy >= score(plain).word_speaker_accuracy


def test_smoothing_helps_on_a_real_voice_session(real_session_words):
    session, words = real_session_words
    turns, utterances = session.turns, session.utterances
    plain = attribution(assign_speakers(words, turns, {"smoothing": False}), turns, turns, utterances)
    smoothed = attribution(assign_speakers(words, turns), turns, turns, utterances)
    # Measured on the pipeline's words of this session: 0.932 without smoothing, 0.977 with it.
    assert smoothed.word_speaker_accuracy > plain.word_speaker_accuracy + 0.01, (plain, smoothed)


def test_better_than_the_seed_nested_loop(sample_words, reference_turns, reference_utterances):
    score = lambda words: attribution(words, reference_turns, reference_turns, reference_utterances)  # noqa: E731
    seed = score(seed_nested_loop(sample_words, reference_turns)).word_speaker_accuracy
    ours = score(assign_speakers(sample_words, reference_turns)).word_speaker_accuracy
    assert seed < 0.97 <= ours  # measured: seed 0.962 (align.metrics: 0.933), ours 0.975


def test_end_to_end_with_the_project_s_own_diarization(sample_transcript, reference_turns, reference_utterances):
    """The whole pipeline (default settings) on the sample: every word attributed, >= 0.90 right."""
    words = sample_transcript.words
    assert words and all(w.speaker is not None for w in words)
    score = attribution(words, sample_transcript.turns, reference_turns, reference_utterances)
    assert score.word_speaker_accuracy >= 0.90
