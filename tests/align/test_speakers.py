"""Object-level alignment: words and segments in, new words and speaker-homogeneous segments out."""

from __future__ import annotations

import random
from contextlib import contextmanager

import pytest

from therapybridge.align import AlignOptions, align_transcript, assign_speakers, split_segments
from therapybridge.errors import ConfigurationError
from therapybridge.types import Segment, SpeakerTurn, Word

TURNS = (SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(2.0, 5.0, "B"))


def words_of(*spec):
    return tuple(Word(s, e, text, 0.9) for s, e, text in spec)


def test_new_words_keep_text_times_and_probability():
    words = words_of((0.1, 0.5, " Hi"), (2.5, 2.9, " there"))
    out = assign_speakers(words, TURNS)
    assert [w.speaker for w in out] == ["A", "B"]
    assert [(w.start, w.end, w.word, w.probability) for w in out] == [(w.start, w.end, w.word, w.probability) for w in words]
    assert all(w.speaker is None for w in words)  # inputs untouched


def test_without_turns_every_speaker_is_none():
    words = words_of((0.1, 0.5, " Hi"))
    assert assign_speakers(words, [])[0].speaker is None
    segments = (Segment(0.1, 0.5, " Hi", words),)
    out = align_transcript(segments, [])
    assert [s.speaker for s in out] == [None] and out[0].words[0].speaker is None and out[0].text == " Hi"


def test_empty_inputs():
    assert assign_speakers([], TURNS) == ()
    assert align_transcript([], TURNS) == ()
    assert split_segments([]) == ()


def test_words_without_timestamps_get_a_speaker_from_their_neighbours():
    words = (Word(2.2, 2.4, " yes"), Word(None, None, " and"), Word(2.6, 2.8, " no"), Word(None, 0.4, " hm"))
    out = assign_speakers(words, TURNS)
    assert [w.speaker for w in out] == ["B", "B", "B", "A"]
    assert out[1].start is None and out[1].end is None


def test_unsorted_turns_and_words():
    turns = list(TURNS) + [SpeakerTurn(6.0, 8.0, "A")]
    words = words_of((7.0, 7.5, " c"), (0.5, 1.0, " a"), (3.0, 3.2, " b"))
    for _ in range(5):
        random.Random(1).shuffle(turns)
        assert [w.speaker for w in assign_speakers(words, turns)] == ["A", "A", "B"]


def test_smoothing_lets_an_edge_word_join_its_sentence():
    # "so." ends at 2.25 s, reaching 0.25 s into B's turn after 0.15 s in A's: timing alone would give B.
    turns = (SpeakerTurn(0.0, 2.1, "A"), SpeakerTurn(2.0, 5.0, "B"))
    words = words_of((1.2, 1.4, " I"), (1.4, 1.7, " think"), (1.95, 2.25, " so."), (2.6, 2.9, " Yes."))
    assert [w.speaker for w in assign_speakers(words, turns, {"smoothing": False})] == ["A", "A", "B", "B"]
    assert [w.speaker for w in assign_speakers(words, turns)] == ["A", "A", "A", "B"]


def test_smoothing_never_moves_a_word_into_a_speaker_s_silence():
    turns = (SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(3.0, 6.0, "B"), SpeakerTurn(4.0, 4.2, "C"))
    # "now" (4.0-4.3) is ambiguous between B and C; its sentence is A's, but A is 3 s away.
    words = words_of((0.2, 0.5, " Well"), (0.5, 0.8, " then"), (4.0, 4.3, " now."))
    out = assign_speakers(words, turns, {"sentence_pause": 0})
    assert out[2].speaker in {"B", "C"}


def test_split_segments_at_speaker_changes_rebuilds_text_and_times():
    words = (
        Word(0.5, 0.8, " Hello", speaker="A"),
        Word(0.8, 1.2, " there.", speaker="A"),
        Word(2.1, 2.4, " Hi.", speaker="B"),
        Word(None, None, " Um", speaker="B"),
        Word(3.0, 3.4, " Okay.", speaker="A"),
    )
    segment = Segment(0.4, 3.6, " Hello there. Hi. Um Okay.", words)
    out = split_segments([Segment(5.0, 6.0, " later", ()), segment])
    assert [(s.speaker, s.text) for s in out] == [("A", " Hello there."), ("B", " Hi. Um"), ("A", " Okay."), (None, " later")]
    assert [(s.start, s.end) for s in out[:3]] == [(0.4, 1.2), (2.1, 2.4), (3.0, 3.6)]
    assert out[1].words == words[2:4]


def test_align_transcript_splits_and_places_wordless_segments():
    segments = (
        Segment(0.0, 3.0, " a b", words_of((0.5, 1.0, " a"), (2.5, 2.9, " b"))),
        Segment(3.5, 4.5, " [music]", ()),
    )
    out = align_transcript(segments, TURNS)
    assert [(s.speaker, s.text) for s in out] == [("A", " a"), ("B", " b"), ("B", " [music]")]
    out = align_transcript(segments, TURNS, AlignOptions(split_segments=False))
    assert len(out) == 2 and [w.speaker for w in out[0].words] == ["A", "B"]


class RecordingProfiler:
    def __init__(self):
        self.calls = []

    @contextmanager
    def subprocess(self, name, **metadata):
        self.calls.append((name, metadata))
        yield


def test_align_transcript_reports_its_steps_without_text():
    profiler = RecordingProfiler()
    segments = (Segment(0.0, 3.0, " secret words", words_of((0.5, 1.0, " secret"), (2.5, 2.9, " words"))),)
    align_transcript(segments, TURNS, profiler=profiler)
    assert [name for name, _ in profiler.calls] == ["assign_speakers", "split_segments"]
    assert profiler.calls[0][1] == {"words": 2, "turns": 2, "speakers": 2}
    assert "secret" not in repr(profiler.calls)


def test_options_validate_and_accept_dicts():
    assert AlignOptions.from_dict({"smoothing": False}) == AlignOptions(smoothing=False)
    with pytest.raises(ConfigurationError, match="unknown align option"):
        AlignOptions.from_dict({"smothing": False})
    with pytest.raises(ConfigurationError):
        AlignOptions(context=-1)


def test_output_words_are_ordinary_frozen_words():
    import dataclasses
    import gc

    (out,) = assign_speakers([Word(0.1, 0.2, " x", 0.5)], TURNS)
    assert gc.isenabled()  # the collector paused during the bulk copy is running again
    assert out == Word(0.1, 0.2, " x", 0.5, "A") and hash(out) == hash(Word(0.1, 0.2, " x", 0.5, "A"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.speaker = "B"


# --------------------------------------------------------------------------- backchannels and interruptions
LONG_A = " I went to the store and then".split(" ")[1:]
LONG_A_REST = " I came back home.".split(" ")[1:]


def _sentence_around(backchannel: tuple[tuple[float, float, str], ...], first_ends: str = "") -> Segment:
    """One recognised segment: A's words from 0.5 s to 4.0 s (the last one ending in ``first_ends``), the
    backchannel, A's sentence on from 4.7 s."""
    before = [(0.5 + 0.5 * k, 0.9 + 0.5 * k, f" {w}") for k, w in enumerate(LONG_A)]
    before[-1] = (*before[-1][:2], before[-1][2] + first_ends)
    after = [(4.7 + 0.5 * k, 5.1 + 0.5 * k, f" {w}") for k, w in enumerate(LONG_A_REST)]
    words = words_of(*before, *backchannel, *after)
    return Segment(words[0].start, words[-1].end, "".join(w.word for w in words), words)


@pytest.mark.parametrize(
    "backchannel",
    [((4.1, 4.5, " Mm-hmm."),), ((4.05, 4.25, " Yeah,"), (4.25, 4.5, " right.")), ((4.1, 4.5, " Okay?"),)],
    ids=["mm-hmm", "yeah-right", "okay"],
)
def test_a_backchannel_sentence_inside_a_long_turn_becomes_its_own_segment(backchannel):
    # A talks 0-10 s without a break; the diarizer found B's backchannel at 4.0-4.6 s, overlapped.
    turns = (SpeakerTurn(0.0, 10.0, "A"), SpeakerTurn(4.0, 4.6, "B"))
    segment = _sentence_around(backchannel, first_ends=".")
    out = align_transcript([segment], turns)
    assert [s.speaker for s in out] == ["A", "B", "A"]
    assert out[1].text == "".join(w for _, _, w in backchannel)
    assert [w.word for w in out[1].words] == [w for _, _, w in backchannel]
    assert out[0].text == " I went to the store and then." and out[2].text == " I came back home."
    assert (out[1].start, out[1].end) == (backchannel[0][0], backchannel[-1][1])
    assert all(w.speaker is None for w in segment.words)  # the input is untouched


def test_a_word_in_the_middle_of_a_longer_sentence_is_its_speakers_though_a_short_turn_holds_it():
    # On the development half, words of A's longer sentences that the recogniser placed in B's short turns were
    # far more often A's than B's: the turn keeps a sentence of its own, not the middle of A's.
    turns = (SpeakerTurn(0.0, 10.0, "A"), SpeakerTurn(4.0, 4.6, "B"))
    out = align_transcript([_sentence_around(((4.1, 4.5, " mm-hmm,"),))], turns)
    assert [s.speaker for s in out] == ["A"]


def test_the_last_word_of_a_longer_sentence_is_its_speakers_and_the_short_turn_takes_the_backchannel():
    # Found on the development half (d10): the recogniser put A's " drink?" where B said "yes" and B's " Yes!"
    # after it at no duration. " drink?" ends A's sentence, so it is A's; B's turn, left without words, takes the
    # one-word sentence beside it.
    turns = (SpeakerTurn(415.992, 418.574, "A"), SpeakerTurn(418.068, 418.624, "B"),
             SpeakerTurn(419.164, 421.746, "A"))
    words = words_of((417.406, 417.786, " you"), (417.786, 418.086, " didn't"), (418.086, 418.306, " drink?"),
                     (418.346, 418.346, " Yes!"), (419.004, 419.306, " So,"), (419.406, 419.506, " when"))
    assert [w.speaker for w in assign_speakers(words, turns)] == ["A", "A", "A", "B", "A", "A"]


def test_a_short_turn_left_without_words_takes_the_backchannel_the_recogniser_placed_a_second_away():
    # Found on the development half (d10): B's "yes" at 728.34-728.82 s inside A's speech came back at 729.97 s,
    # with no duration, in the gap before A's next turn.
    turns = (SpeakerTurn(725.517, 729.128, "A"), SpeakerTurn(728.335, 728.824, "B"),
             SpeakerTurn(730.141, 735.153, "A"))
    said = ((727.602, 727.822, " I"), (727.822, 728.222, " mostly"), (728.222, 728.462, " feel"),
            (728.462, 728.842, " anxious."))
    words = words_of(*said, (729.97, 729.97, " Yes!"), (729.97, 730.23, " I"), (730.23, 730.53, " suppose"))
    assert [w.speaker for w in assign_speakers(words, turns)] == ["A", "A", "A", "A", "B", "A", "A"]
    assert [w.speaker for w in assign_speakers(words, turns, {"interjection_reach": 0.5})] == ["A"] * 7
    # A longer sentence is never taken: a turn claims a sentence the size of a backchannel.
    longer = words_of(*said, (729.97, 730.0, " Yes"), (730.0, 730.1, " I"), (730.1, 730.2, " do."))
    assert [w.speaker for w in assign_speakers(longer, turns)] == ["A"] * 7


def test_a_backchannel_in_a_gap_of_the_long_turn_keeps_its_speaker_though_it_straddles_the_edge():
    # The diarizer cut A's turn around B's "mm-hmm"; the recogniser stretched the word 0.05 s into A's turn.
    turns = (SpeakerTurn(0.0, 4.05, "A"), SpeakerTurn(4.0, 4.6, "B"), SpeakerTurn(4.55, 10.0, "A"))
    out = align_transcript([_sentence_around(((4.05, 4.6, " Mm-hmm."),), first_ends=".")], turns)
    assert [(s.speaker, s.text) for s in out][1] == ("B", " Mm-hmm.")
    assert [s.speaker for s in out] == ["A", "B", "A"]


def test_without_the_interjection_rule_smoothing_absorbs_the_backchannel():
    # B's " Yeah," lies in B's turn; " right." after it only in A's, so the sentence's vote is A's.
    turns = (SpeakerTurn(0.0, 10.0, "A"), SpeakerTurn(4.0, 4.5, "B"))
    segment = _sentence_around(((4.05, 4.4, " Yeah,"), (4.6, 4.65, " right.")), first_ends=".")
    assert [s.speaker for s in align_transcript([segment], turns)] == ["A", "B", "A"]
    assert [s.speaker for s in align_transcript([segment], turns, {"interjection_window": 0})] == ["A"]


def test_a_word_only_partly_inside_a_short_turn_stays_with_the_long_one():
    # " store" (3.9-4.4) shares 0.3 s with B's backchannel turn (4.1-4.4) and 0.5 s with A: it is A's.
    turns = (SpeakerTurn(0.0, 10.0, "A"), SpeakerTurn(4.1, 4.4, "B"))
    words = words_of((3.4, 3.9, " the"), (3.9, 4.4, " store."), (4.6, 5.0, " Then"))
    assert [w.speaker for w in assign_speakers(words, turns)] == ["A", "A", "A"]


def test_an_interruption_splits_where_the_interrupter_starts_talking():
    # B cuts in at 9.5 s, 0.5 s before A's turn ends, and goes on. A's last word lies wholly in the overlap.
    turns = (SpeakerTurn(0.0, 10.0, "A"), SpeakerTurn(9.5, 14.0, "B"))
    words = words_of(
        (7.6, 8.0, " So"), (8.0, 8.4, " I"), (8.4, 8.9, " think"), (8.9, 9.2, " we"), (9.2, 9.5, " should"),
        (9.5, 9.8, " go."),
        (9.8, 10.1, " Wait,"), (10.1, 10.5, " wait."), (10.6, 11.0, " I"), (11.0, 11.6, " disagree."),
    )
    out = align_transcript([Segment(7.6, 11.6, "".join(w.word for w in words), words)], turns)
    assert [(s.speaker, s.text) for s in out] == [("A", " So I think we should go."), ("B", " Wait, wait. I disagree.")]
    assert (out[0].end, out[1].start) == (9.8, 9.8)


def test_an_edge_misattribution_without_a_turn_of_its_own_is_still_smoothed():
    # B's turn starts 0.2 s early, before A's last word ends: by timing alone "there." (0.45 s in B's turn, 0.25 s
    # in A's) is B's. But B does not stop around it (B's turn goes on), so it is no backchannel: it joins A's sentence.
    turns = (SpeakerTurn(0.0, 2.8, "A"), SpeakerTurn(2.6, 8.0, "B"))
    words = words_of((2.0, 2.35, " over"), (2.55, 3.05, " there."), (3.5, 3.9, " Yes."))
    assert [w.speaker for w in assign_speakers(words, turns, {"smoothing": False})] == ["A", "B", "B"]
    assert [w.speaker for w in assign_speakers(words, turns)] == ["A", "A", "B"]
    out = align_transcript([Segment(2.0, 3.9, "".join(w.word for w in words), words)], turns)
    assert [(s.speaker, s.text) for s in out] == [("A", " over there."), ("B", " Yes.")]


def test_a_backchannel_at_the_end_of_a_long_turn_keeps_its_short_turn():
    # Found on the development half (d06): A's turn 245.01-250.23 s, B's backchannel turn 249.45-250.33 s around
    # the recognised " Sure." (249.78-250.04). Both cover the word; A talks less in the 0.25 s around it only
    # because its turn ends 0.2 s after the word. The short turn holds it.
    turns = (SpeakerTurn(245.01, 250.23, "A"), SpeakerTurn(249.45, 250.33, "B"), SpeakerTurn(250.9, 253.0, "A"))
    words = words_of((249.1, 249.5, " then."), (249.78, 250.04, " Sure."), (250.9, 251.2, " And"))
    assert [w.speaker for w in assign_speakers(words, turns)] == ["A", "B", "A"]
    assert [w.speaker for w in assign_speakers(words, turns, {"short_turn": 0})] == ["A", "A", "A"]
