"""LocalAgreement-2: only what two consecutive hypotheses agree on is committed, and committed words stay."""

from __future__ import annotations

from therapybridge.live.agreement import LocalAgreement, normalise
from therapybridge.live.events import LiveWord


def words(*items: tuple[float, str]) -> list[LiveWord]:
    return [LiveWord(start, start + 0.3, text) for start, text in items]


def test_the_first_hypothesis_is_all_partial_and_the_agreed_prefix_is_committed():
    policy = LocalAgreement()
    committed, partial = policy.update(words((0.0, "Hello"), (0.4, "there,"), (0.8, "gen")))
    assert committed == [] and [w.text for w in partial] == ["Hello", "there,", "gen"]
    committed, partial = policy.update(words((0.0, "hello"), (0.4, "there"), (0.8, "general"), (1.4, "Kenobi")))
    assert [w.text for w in committed] == ["hello", "there"]  # punctuation and case do not break the agreement
    assert [w.text for w in partial] == ["general", "Kenobi"]
    assert policy.committed_end == 0.7


def test_committed_words_are_never_offered_again():
    policy = LocalAgreement()
    policy.update(words((0.0, "one"), (0.4, "two"), (0.8, "three")))
    first, _ = policy.update(words((0.0, "one"), (0.4, "two"), (0.8, "tree")))
    # the buffer was cut after "two": Whisper, prompted with it, says it again at the start of the new buffer
    second, partial = policy.update(words((0.45, "two"), (0.8, "three"), (1.2, "four")))
    third, _ = policy.update(words((0.8, "three"), (1.2, "four"), (1.6, "five")))
    assert [w.text for w in first] == ["one", "two"]
    assert second == [] and [w.text for w in partial] == ["three", "four"]
    assert [w.text for w in third] == ["three", "four"]


def test_flush_commits_a_last_hypothesis_after_the_committed_words():
    policy = LocalAgreement()
    policy.update(words((0.0, "a"), (0.4, "b")))
    policy.update(words((0.0, "a"), (0.4, "b"), (0.8, "c")))
    assert [w.text for w in policy.flush(words((0.0, "a"), (0.4, "b"), (0.8, "c"), (1.2, "d")))] == ["c", "d"]
    assert policy.partial == []


def test_commit_through_commits_the_partial_words_before_a_cut():
    policy = LocalAgreement()
    policy.update(words((0.0, "x"), (1.0, "y"), (2.0, "z")))
    assert [w.text for w in policy.commit_through(1.5)] == ["x", "y"]
    assert [w.text for w in policy.partial] == ["z"]


def test_normalise():
    assert normalise("Don't,") == "don't"
    assert normalise("...") == ""


def test_a_first_word_spelled_two_ways_does_not_hold_back_the_words_both_decodes_agree_on():
    policy = LocalAgreement()
    policy.update(words((0.0, "changed"), (0.4, "at"), (0.8, "the"), (1.2, "last")))
    committed, partial = policy.update(words((0.0, "change"), (0.4, "at"), (0.8, "the"), (1.2, "last"), (1.6, "minute")))
    assert [w.text for w in committed] == ["change", "at", "the", "last"]  # the newer spelling
    assert [w.text for w in partial] == ["minute"]


def test_one_word_heard_as_two_resyncs_on_the_words_after_it():
    policy = LocalAgreement()
    policy.update(words((0.0, "I"), (0.2, "had"), (0.5, "bring"), (0.9, "it")))
    committed, partial = policy.update(words((0.0, "I'd"), (0.5, "bring"), (0.9, "it"), (1.2, "up")))
    assert [w.text for w in committed] == ["I'd", "bring", "it"]
    assert [w.text for w in partial] == ["up"]


def test_decodes_that_agree_on_nothing_commit_nothing():
    policy = LocalAgreement()
    policy.update(words((0.0, "so"), (0.4, "we"), (0.8, "went")))
    committed, _ = policy.update(words((0.0, "no"), (0.4, "one"), (0.8, "knows")))
    assert committed == []
    # the same words later in time are not an agreement either
    policy = LocalAgreement()
    policy.update(words((0.0, "well"), (0.4, "at"), (0.8, "the")))
    committed, _ = policy.update(words((0.0, "oh"), (1.4, "at"), (1.8, "the")))
    assert committed == []
