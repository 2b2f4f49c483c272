"""Repetition loops: real repeats stay, Whisper's loops are cut, and what was cut is counted (never quoted)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from therapybridge.asr import TranscribeOptions
from therapybridge.asr.local import FasterWhisperTranscriber, _without_loops
from therapybridge.perf import PerformanceLogger
from therapybridge.types import Word

DEFAULTS = TranscribeOptions()


def _words(text: str) -> list[tuple[Word, int]]:
    return [(Word(float(i), i + 0.5, " " + w), 0) for i, w in enumerate(text.split())]


def _cut(text: str) -> str:
    kept = _without_loops(_words(text), DEFAULTS.max_phrase_repeats, DEFAULTS.max_short_phrase_repeats)
    return " ".join(w.word.strip() for w, _ in kept)


@pytest.mark.parametrize(
    "text",
    [
        "no, no, no, no, no, no",                    # six repeats of one word
        "I said " + "no " * 8 + "and meant it",      # eight: the most a short phrase is kept
        "I know " * 8,                               # a two-word phrase eight times
        "it was so so so so so so so hard",
        "I do not know " * 5,                         # a four-word phrase five times
    ],
)
def test_genuine_repetition_is_kept(text):
    assert _cut(text) == " ".join(text.split())


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I said " + "no " * 9 + "and meant it", "I said no and meant it"),
        ("so " + "thank you " * 12 + "bye", "so thank you bye"),
        ("I do not know " * 6, "I do not know"),
    ],
)
def test_loops_beyond_the_stated_lengths_are_cut_to_one_occurrence(text, expected):
    assert _cut(text) == expected


def _raw_segment(text: str) -> SimpleNamespace:
    words = [SimpleNamespace(start=0.2 * i, end=0.2 * i + 0.15, word=" " + w, probability=0.9)
             for i, w in enumerate(text.split())]
    return SimpleNamespace(start=0.0, end=words[-1].end, text=text, words=words,
                           no_speech_prob=0.0, avg_logprob=-0.1, compression_ratio=1.2)


def test_removed_words_are_counted_in_the_stage_metadata_and_logged_without_text(sample_audio, caplog):
    transcriber = FasterWhisperTranscriber({"model": "tiny.en", "language": "en"}, "cpu")
    transcriber._model = object()  # recognition is stubbed below; no model is needed
    loop = "okay " + "hallucinated loop " * 20
    transcriber._decode = lambda packed, clips, language: (
        [_raw_segment(loop), _raw_segment("no no no no no no")], SimpleNamespace(language="en", language_probability=1.0)
    )
    perf = PerformanceLogger("test", enable_gpu_monitoring=False, verbose=False, sample_interval=None)
    with caplog.at_level(logging.DEBUG, logger="therapybridge"):
        with perf.stage("Whisper Transcription"):
            result = transcriber.transcribe(sample_audio, 16000, profiler=perf)
    session = perf.end_pipeline()

    text = " ".join(s.text for s in result.segments)  # the words keep their regions: a segment may split
    assert text == "okay hallucinated loop no no no no no no"
    assert result.info["loop_words_removed"] == 38
    (inference,) = [s for s in session.spans if s.name == "inference"]
    assert inference.metadata["loop_words_removed"] == 38
    records = [r for r in caplog.records if "loop" in r.getMessage()]
    assert records and all(r.levelno == logging.DEBUG for r in records)
    assert "38" in records[0].getMessage()
    for record in caplog.records:
        assert "hallucinated" not in record.getMessage() and "okay" not in record.getMessage()


def _timed_segment(text: str, start: float, seconds: float) -> SimpleNamespace:
    tokens = text.split()
    step = seconds / len(tokens)
    words = [SimpleNamespace(start=start + step * i, end=start + step * (i + 1), word=" " + w, probability=0.9)
             for i, w in enumerate(tokens)]
    return SimpleNamespace(start=start, end=start + seconds, text=text, words=words,
                           no_speech_prob=0.0, avg_logprob=-0.1, compression_ratio=1.2)


def test_more_words_than_their_time_could_hold_are_dropped_and_counted():
    """35 words in 1.5 s is text Whisper squeezed into the end of a window; a fast talker (8 words in 1.2 s) and
    a short burst of 7 stay."""
    from therapybridge.asr.local import _Region, _to_segments

    invented = " ".join(f"word{i}" for i in range(35))
    raw = [
        _timed_segment("so I left the party after ten minutes", 0.0, 1.2),
        _timed_segment(invented, 2.0, 1.5),
        _timed_segment("yes yes I know I know it", 4.0, 0.3),
    ]
    segments, removed = _to_segments(raw, [_Region(0, 16000 * 10, 0)], DEFAULTS)
    assert [s.text for s in segments] == ["so I left the party after ten minutes", "yes yes I know I know it"]
    assert removed == 35
    kept, _ = _to_segments(raw, [_Region(0, 16000 * 10, 0)], TranscribeOptions(max_words_per_second=None))
    assert sum(len(s.words) for s in kept) == 8 + 35 + 7
