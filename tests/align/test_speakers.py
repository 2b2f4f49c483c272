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
