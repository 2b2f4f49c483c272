"""Gap recovery: what is heard but not transcribed is found, decoded again, and marked when nothing comes back."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from therapybridge.asr.base import TranscribeOptions
from therapybridge.asr.recovery import Gap, find_stretches, merge_segments, recover_gaps
from therapybridge.types import Segment, SpeakerTurn, UnrecognisedSpeech, Word


def find_gaps(words, turns, speech, min_seconds):
    return [gap for stretch in find_stretches(words, turns, speech, min_seconds) for gap in stretch.gaps]


def _words(start: float, count: int, step: float = 0.4) -> list[Word]:
    return [Word(round(start + k * step, 3), round(start + k * step + 0.3, 3), f" w{k}", 0.9) for k in range(count)]


def test_a_skipped_sentence_inside_a_turn_is_a_gap_of_that_speaker():
    words = _words(0.0, 10) + _words(8.0, 5)  # 0-4 s and 8-10 s recognised; 4-8 s skipped
    turns = [SpeakerTurn(0.0, 10.0, "A")]
    gaps = find_gaps(words, turns, [(0.0, 10.0)], min_seconds=1.0)
    assert len(gaps) == 1 and gaps[0].speaker == "A"
    assert 3.8 < gaps[0].start < 4.3 and 7.6 < gaps[0].end < 8.0


def test_pauses_the_speech_detector_left_out_and_short_holes_are_not_gaps():
    words = _words(0.0, 5) + _words(4.0, 5)  # 0-2 s and 4-6 s
    turns = [SpeakerTurn(0.0, 6.0, "A")]
    assert find_gaps(words, turns, [(0.0, 2.1), (3.9, 6.0)], min_seconds=1.0) == []  # the pause is not speech
    assert find_gaps(words, turns, [(0.0, 6.0)], min_seconds=2.0) == []  # shorter than asked


def test_a_word_stretched_over_a_skipped_sentence_does_not_hide_it():
    words = [*_words(0.0, 3), Word(1.0, 7.0, " long", 0.5), *_words(7.2, 3)]
    gaps = find_gaps(words, [SpeakerTurn(0.0, 8.5, "A")], [], min_seconds=1.0)
    assert [(round(g.start, 2), round(g.end, 2)) for g in gaps] == [(1.35, 3.25), (4.75, 6.95)]  # beside its middle


def test_two_speakers_heard_at_once_make_one_gap():
    turns = [SpeakerTurn(0.0, 5.0, "A"), SpeakerTurn(2.0, 4.0, "B")]
    assert find_gaps([], turns, [], min_seconds=1.0) == [Gap(0.0, 5.0, "A")]


def test_without_diarization_the_speech_detector_alone_says_where_speech_was():
    assert find_gaps([], [], [(1.0, 3.5)], min_seconds=1.0) == [Gap(1.0, 3.5, None)]


class _FakeTranscriber:
    """Returns the given words for every span; records what it was asked to decode."""

    def __init__(self, found: list[Word], probability_floor: float = 0.4) -> None:
        self.options = dataclasses.replace(TranscribeOptions(), gap_min_probability=probability_floor)
        self.found = found
        self.calls: list[tuple[list[tuple[int, int]], list[float]]] = []

    def redecode(self, samples, spans, language, *, gains):
        self.calls.append((spans, gains))
        return [list(self.found) for _ in spans]


def test_the_sentence_around_a_gap_is_decoded_again_and_replaces_the_words_it_had():
    samples = np.full(16000 * 10, 0.001, dtype=np.float32)  # quiet speech: the level is raised before decoding
    before = Segment(6.0, 6.3, "later", (Word(6.0, 6.3, " later", 0.9),))
    segments = [Segment(0.0, 2.0, "a", tuple(_words(0.0, 5))), before]  # the sentence's end (2-5 s) is skipped
    found = [*_words(0.0, 5), Word(3.0, 3.3, " back", 0.9), Word(3.5, 3.8, " again", 0.9), Word(6.0, 6.3, " x", 0.9)]
    transcriber = _FakeTranscriber(found)
    result = recover_gaps(transcriber, samples, segments, [SpeakerTurn(0.0, 5.0, "A"), SpeakerTurn(6.0, 6.3, "A")],
                          [], "en")
    (spans, gains), = transcriber.calls
    assert spans == [(0, int(5.3 * 16000))] and gains[0] > 10  # the whole sentence, a little context after it
    assert [w.word for s in result.segments for w in s.words] == [w.word for w in found[:-1]]  # not the one after
    assert result.kept == (before,) and result.counts()["words"] == 2 and result.unrecognised == ()
    assert [s.text for s in merge_segments(result.kept, result.segments)] == ["w0 w1 w2 w3 w4 back again", "later"]


def test_a_decode_with_no_more_words_keeps_the_old_ones_and_marks_the_gap_still_without_a_word():
    segments = [Segment(0.0, 2.0, "a", tuple(_words(0.0, 5)))]
    result = recover_gaps(_FakeTranscriber(_words(0.0, 5)), np.zeros(16000 * 6, np.float32), segments,
                          [SpeakerTurn(0.0, 5.0, "A")], [], "en")
    assert result.segments == () and result.kept == tuple(segments)
    assert [(round(u.start, 2), u.end, u.speaker) for u in result.unrecognised] == [(2.15, 5.0, "A")]


def test_a_gap_that_gives_nothing_credible_is_unrecognised_speech_of_its_speaker():
    samples = np.zeros(16000 * 10, dtype=np.float32)
    unsure = [Word(5.0, 5.2, " I", 0.9), Word(5.2, 5.4, " said", 0.3), Word(5.4, 5.8, " it", 0.2)]
    invented = [Word(5.0 + 0.2 * k, 5.2 + 0.2 * k, f" {w}", 0.95) for k, w in enumerate("Thank you. Thank you.".split())]
    for found in ([], unsure, invented):
        result = recover_gaps(_FakeTranscriber(found), samples, [], [SpeakerTurn(4.0, 7.0, "B")], [], "en")
        assert result.segments == ()
        assert result.unrecognised == (UnrecognisedSpeech(4.0, 7.0, "B"),)


def _loud_from(start: float, total: float = 8.0) -> np.ndarray:
    """Near silence, then a loud tone from ``start`` seconds on (speech to a level meter, not to the fake)."""
    samples = np.full(int(16000 * total), 1e-4, dtype=np.float32)
    t = np.arange(len(samples) - int(16000 * start)) / 16000
    samples[int(16000 * start):] = 0.1 * np.sin(2 * np.pi * 220 * t)
    return samples


def test_speech_the_detector_missed_is_a_gap_where_the_diarizer_heard_it_and_the_audio_is_loud():
    words = _words(0.0, 5)  # 0-2 s recognised; the speech detector stopped at 2 s, the speaker went on to 6 s
    samples = _loud_from(0.0)
    samples[int(16000 * 6.0):] = 1e-4  # 6-8 s quiet again
    transcriber = _FakeTranscriber([])
    result = recover_gaps(transcriber, samples, [Segment(0.0, 2.0, "a", tuple(words))], [SpeakerTurn(0.0, 7.5, "A")],
                          [(0.0, 2.1)], "en")
    (gap,) = result.unrecognised
    assert gap.speaker == "A" and 2.0 < gap.start < 2.6 and 5.9 < gap.end < 6.1  # not the quiet end of the turn


def test_the_level_detector_listens_at_the_speech_levels_of_the_preprocessing_options_given():
    from therapybridge.audio.options import PreprocessOptions

    words = _words(0.0, 5)
    samples = _loud_from(0.0)
    samples[int(16000 * 6.0):] = 1e-4
    transcriber = _FakeTranscriber([])
    # The tone is at -23 dBFS: under a floor of -10 dBFS it is no speech to the level meter, so no gap is found.
    result = recover_gaps(transcriber, samples, [Segment(0.0, 2.0, "a", tuple(words))], [SpeakerTurn(0.0, 7.5, "A")],
                          [(0.0, 2.1)], "en", levels=PreprocessOptions(silence_floor_db=-10.0))
    assert transcriber.calls == [] and result.unrecognised == ()


def test_without_diarization_a_loud_stretch_the_speech_detector_left_out_is_not_a_gap():
    words = _words(0.0, 5)
    transcriber = _FakeTranscriber([])
    result = recover_gaps(transcriber, _loud_from(0.0), [Segment(0.0, 2.0, "a", tuple(words))], [], [(0.0, 2.1)],
                          "en")
    assert transcriber.calls == [] and result.unrecognised == ()


# A corpus excerpt where batched faster-whisper skips a sentence (development half; found with base, batch 8,
# beam 5): session d02 from 5 s to 35 s. Of the sentence at 8.57-14.61 s, 23 words, it returns 6.
SKIP_SESSION, SKIP_FROM, SKIP_TO = "d02", 5.0, 35.0
SKIPPED_SENTENCE = (8.57, 14.61)


@pytest.fixture(scope="module")
def skipping_excerpt(tmp_path_factory):
    from faster_whisper import decode_audio

    from tests.corpus.build import build_session
    from tests.corpus.sessions import session
    from tests.datagen import write_wav
    from therapybridge.evaluation import read_stm

    built = build_session(session(SKIP_SESSION))
    audio = decode_audio(str(built.audio), sampling_rate=16000)[int(SKIP_FROM * 16000) : int(SKIP_TO * 16000)]
    path = tmp_path_factory.mktemp("skip") / f"{SKIP_SESSION}-excerpt.wav"
    write_wav(path, audio, 16000)
    (sentence,) = [u for u in read_stm(built.stm) if abs(u.start - SKIPPED_SENTENCE[0]) < 0.01]
    return path, audio, sentence.text


def _sentence_words(words, start_of=lambda w: w.start, end_of=lambda w: w.end):
    lo, hi = SKIPPED_SENTENCE[0] - SKIP_FROM - 0.1, SKIPPED_SENTENCE[1] - SKIP_FROM + 0.1
    return " ".join(w.word for w in words if lo <= (start_of(w) + end_of(w)) / 2 <= hi)


def test_bare_faster_whisper_skips_the_sentence_and_recovery_brings_it_back(skipping_excerpt, base):
    from faster_whisper import BatchedInferencePipeline

    from therapybridge.evaluation import word_error_rate
    from therapybridge.pipeline import AudioTranscriptionPipeline

    path, audio, text = skipping_excerpt
    segments, _ = BatchedInferencePipeline(base.whisper_model).transcribe(audio, batch_size=8, beam_size=5,
                                                                          word_timestamps=True)
    bare = word_error_rate(text, _sentence_words([w for s in segments for w in s.words]))
    assert bare.deletions >= 0.5 * bare.reference_words  # the skip this fixture keeps

    transcript = AudioTranscriptionPipeline().process(path)
    ours = word_error_rate(text, _sentence_words(transcript.words))
    assert ours.deletions <= 0.1 * ours.reference_words and ours.wer <= 0.3, ours
    recovery = transcript.performance_metrics["stages"]["Whisper Transcription"]["subprocesses"]["gap_recovery"]
    assert recovery["metadata"]["stretches"] >= 1 and recovery["metadata"]["words"] >= 10
