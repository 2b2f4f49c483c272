"""WER after Whisper's normaliser, cpWER, WDER and word-speaker accuracy on small hand-worked cases."""

from __future__ import annotations

import pytest

from therapybridge.evaluation import (
    StmUtterance,
    align_words,
    cp_word_error_rate,
    hypothesis_words,
    normalize,
    reference_words,
    score_attribution,
    token_error_rate,
    word_error_rate,
)
from therapybridge.types import Word


def test_normaliser_spells_titles_and_numbers_one_way():
    assert normalize("Mr. Smith paid twenty-five dollars.") == normalize("mister smith paid $25")
    assert word_error_rate("Mr. Smith, it's twenty five past two!", "mister smith it is 25 past 2").wer == 0.0
    assert normalize("Hello?  I'M here") == "hello i am here"


def test_wer_counts_substitutions_deletions_and_insertions():
    score = word_error_rate("The cat sat on the mat.", "cat sit on the mat too")
    assert (score.substitutions, score.deletions, score.insertions, score.hits) == (1, 1, 1, 4)
    assert score.wer == pytest.approx(3 / 6)
    assert (score.substitution_rate, score.deletion_rate, score.insertion_rate) == pytest.approx((1 / 6,) * 3)
    assert (score.reference_words, score.hypothesis_words) == (6, 6)
    assert score.to_dict()["insertion_rate"] == pytest.approx(1 / 6)


def test_wer_without_reference_words():
    assert token_error_rate([], []).wer == 0.0
    assert token_error_rate([], ["a"]).wer == 1.0
    assert word_error_rate("hello", "").deletions == 1


def test_cpwer_finds_the_best_speaker_assignment():
    score = cp_word_error_rate({"A": "hello there", "B": "hi Ann"}, {"x": "hi ann", "y": "Hello there, friend."})
    assert score.assignment == {"A": "y", "B": "x"}
    assert (score.errors, score.reference_words) == (1, 4)
    assert score.cpwer == pytest.approx(1 / 4)


def test_cpwer_counts_a_missed_speaker_as_deletions():
    score = cp_word_error_rate({"A": "hello there", "B": "hi ann"}, {"x": "hello there hi ann"})
    assert score.cpwer == pytest.approx(1.0)  # 2 insertions on A's side, B's 2 words deleted
    assert score.missed_speakers == 1


UTTERANCES = [
    StmUtterance("s", "1", "A", 0.0, 2.0, "Good morning, doctor."),
    StmUtterance("s", "1", "B", 2.0, 4.0, "Hello there."),
    StmUtterance("s", "1", "A", 3.0, 3.5, "Yeah.", ("backchannel",)),
]


def _hypothesis(backchannel_speaker: str) -> list[Word]:
    spoken = [("Good", "x"), ("morning,", "x"), ("doctor.", "y"), ("Hello", "y"), ("theirs.", "y"),
              ("Yeah.", backchannel_speaker)]
    return [Word(i, i + 1, f" {w}", speaker=s) for i, (w, s) in enumerate(spoken)]


def test_reference_and_hypothesis_words_are_normalised_with_speakers():
    ref = reference_words(UTTERANCES)
    assert [(w.word, w.speaker, w.backchannel) for w in ref][-2:] == [("there", "B", False), ("yeah", "A", True)]
    assert ref[0].start == 0.0 and ref[0].end == 2.0
    hyp = hypothesis_words(_hypothesis("x"))
    assert [(w.word, w.speaker) for w in hyp] == [("good", "x"), ("morning", "x"), ("doctor", "y"), ("hello", "y"),
                                                 ("theirs", "y"), ("yeah", "x")]
    pairs = [(r.word, h.word) for r, h in align_words(ref, hyp)]
    assert ("there", "theirs") in pairs and len(pairs) == 6


def test_wder_and_word_speaker_accuracy():
    # "doctor" is recognised but given B: 1 of 5 correct words has the wrong speaker. "there"->"theirs" is a
    # substitution with the right speaker, so word-speaker accuracy is 5 of the 6 reference words.
    score = score_attribution(reference_words(UTTERANCES), hypothesis_words(_hypothesis("x")), {"x": "A", "y": "B"})
    assert (score.correct_words, score.correct_words_wrong_speaker) == (5, 1)
    assert score.wder == pytest.approx(1 / 5)
    assert score.word_speaker_accuracy == pytest.approx(5 / 6)
    assert (score.backchannel_words, score.backchannel_speaker_accuracy) == (1, 1.0)


def test_backchannel_given_to_the_other_speaker():
    score = score_attribution(reference_words(UTTERANCES), hypothesis_words(_hypothesis("y")), {"x": "A", "y": "B"})
    assert score.backchannel_speaker_accuracy == 0.0
    assert score.wder == pytest.approx(2 / 5)


def test_unmapped_speakers_are_wrong_and_no_mapping_compares_labels():
    ref = reference_words(UTTERANCES)
    assert score_attribution(ref, hypothesis_words(_hypothesis("x")), {"x": "A"}).word_speaker_accuracy == 3 / 6
    same_labels = [Word(0, 1, w.word, speaker=w.speaker) for w in ref]
    plain = score_attribution(ref, hypothesis_words(same_labels))
    assert (plain.wder, plain.word_speaker_accuracy) == (0.0, 1.0)
    deleted = score_attribution(ref, [])
    assert (deleted.wder, deleted.word_speaker_accuracy, deleted.backchannel_speaker_accuracy) == (None, 0.0, None)
    assert (deleted.backchannel_words, deleted.backchannel_hits) == (1, 0)
