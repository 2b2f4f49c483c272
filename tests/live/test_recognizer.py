"""The streaming recogniser's own guards, on a stand-in for the Whisper model (its decodes are scripted)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from therapybridge.asr import TranscribeOptions
from therapybridge.live import LiveOptions
from therapybridge.live.recognizer import SAMPLE_RATE, StreamingRecognizer


class _ScriptedWhisper:
    """Every decode returns the same segment: the words given, 0.25 s each from the buffer's start. A pass asked to
    start later (``clip_timestamps``) gives the ``more`` words, 0.25 s each from where it starts."""

    def __init__(self, texts: list[str], more: list[str] | None = None) -> None:
        self.segment = _segment(texts, 0.0)
        self.more = more or []
        self.feature_extractor = lambda *args, **kwargs: None
        self.windows = 0  # windows faster-whisper was asked to decode
        self.clips: list[list[float]] = []

    def transcribe(self, audio, clip_timestamps="0", **kwargs):
        if clip_timestamps != "0":
            self.clips.append(clip_timestamps)
            return self._windows(_segment(self.more, clip_timestamps[0])), SimpleNamespace(language="en")
        return self._windows(self.segment), SimpleNamespace(language="en")

    def _windows(self, segment):
        """Lazily, as faster-whisper: the segment, then a second window over what follows the last word."""
        self.windows += 1
        yield segment
        self.windows += 1
        yield _segment([], 0.0)


def _segment(texts: list[str], start: float) -> SimpleNamespace:
    words = [SimpleNamespace(start=start + 0.25 * i, end=start + 0.25 * (i + 1), word=f" {t}", probability=0.9)
             for i, t in enumerate(texts)]
    return SimpleNamespace(no_speech_prob=0.01 if words else 0.9, avg_logprob=-0.2 if words else -1.5,
                           compression_ratio=1.5, words=words, text="".join(w.word for w in words))


def _speech(seconds: int) -> np.ndarray:
    """Noise that swells and fades every half second, like speech over a quiet room (steady noise is a "quiet
    step" and is not decoded at all)."""
    envelope = np.where(np.arange(seconds * SAMPLE_RATE) // (SAMPLE_RATE // 2) % 2 == 0, 0.3, 0.003)
    return (np.random.default_rng(0).normal(0, 1, seconds * SAMPLE_RATE) * envelope).astype(np.float32)


def _committed(texts: list[str]) -> list[str]:
    """Two decodes of the same hypothesis (they agree on it), then the session's end."""
    recognizer = StreamingRecognizer(_ScriptedWhisper(texts), LiveOptions(model="tiny.en"), TranscribeOptions())
    speech = _speech(5)
    committed: list[str] = []
    for piece in (speech[:4 * SAMPLE_RATE], speech[4 * SAMPLE_RATE:]):
        recognizer.push(piece)
        while recognizer.ready:
            committed += [w.text for w in recognizer.step().committed]
    assert recognizer.decodes == 2
    return committed + [w.text for w in recognizer.finish()]


def test_a_repetition_loop_is_committed_once():
    loop = ["I'm", "sorry."] * 20  # tiny.en on e10 at real time, loaded machine: this, ~950 words of it
    committed = _committed(["It", "was", "hard."] + loop + ["Anyway."])
    assert committed == ["It", "was", "hard.", "I'm", "sorry.", "Anyway."]


def test_words_said_again_a_few_times_stay():
    said = ["no,", "no,", "no,", "I", "mean", "it."]
    assert _committed(said) == said


def _recognizer(texts: list[str], more: list[str] | None = None,
                **options) -> tuple[StreamingRecognizer, _ScriptedWhisper]:
    whisper = _ScriptedWhisper(texts, more)
    return StreamingRecognizer(whisper, LiveOptions(model="tiny.en", **options), TranscribeOptions()), whisper


def test_each_decode_is_one_window_without_segment_timestamps():
    recognizer, whisper = _recognizer(["It", "was", "hard."], segment_timestamps=False)
    recognizer.push(_speech(2))
    recognizer.step()
    assert (recognizer.decodes, whisper.windows) == (1, 1)
    with_timestamps, whisper = _recognizer(["It", "was", "hard."], segment_timestamps=True)
    with_timestamps.push(_speech(2))
    with_timestamps.step()
    assert whisper.windows == 2  # every window faster-whisper gives is read


def test_without_segment_timestamps_the_buffer_is_cut_at_a_committed_sentence_end():
    # Words 0.25 s each: "hard." ends at 0.75 s, "left." at 1.5 s; the last sentence end may still change.
    recognizer, _ = _recognizer(["It", "was", "hard.", "Then", "we", "left."], segment_timestamps=False)
    recognizer.push(_speech(13))  # longer than trim_seconds (12 s)
    committed = [w.text for w in recognizer.step().committed + recognizer.step().committed]
    assert committed == ["It", "was", "hard.", "Then", "we", "left."]
    assert recognizer.buffer_start == 0.75


def test_speech_after_a_decode_that_stopped_early_is_decoded_from_its_last_word():
    recognizer, whisper = _recognizer(["Friend."], more=["I", "can", "hear", "you."], segment_timestamps=False)
    recognizer.push(_speech(3))
    committed = recognizer.step().committed + recognizer.step().committed + recognizer.finish()
    assert whisper.clips == [[0.25, 3.0]] * 3  # 2.75 s of loud audio after "Friend." each time
    assert [w.text for w in committed] == ["Friend.", "I", "can", "hear", "you."]
    assert [(w.start, w.end) for w in committed[1:3]] == [(0.25, 0.5), (0.5, 0.75)]


def test_a_decode_that_heard_up_to_the_end_is_not_continued():
    recognizer, whisper = _recognizer(["It", "was", "hard."] * 3, more=["never"], segment_timestamps=False)
    recognizer.push(_speech(3))
    recognizer.step()
    assert whisper.clips == []  # 2.25 s of words, 0.75 s after them: less than the 1.5 s that asks for more


def test_speech_no_decode_has_recognised_yet_is_kept_and_silence_is_dropped():
    loud, _ = _recognizer([], segment_timestamps=False)  # decodes that hear nothing
    loud.push(_speech(6))
    loud.step()
    assert loud.buffer_start == 0.0  # nothing committed, the audio is speech-like: it stays for the next decodes
    quiet, _ = _recognizer([], segment_timestamps=False)
    quiet.push(np.random.default_rng(0).normal(0, 0.003, 6 * SAMPLE_RATE).astype(np.float32))
    quiet.step()
    assert quiet.buffer_start == 4.0  # steady room noise: only the last 2 s are kept


def test_a_decode_that_heard_no_word_is_not_decoded_again_from_the_start():
    recognizer, whisper = _recognizer([], more=["never"], segment_timestamps=False)
    recognizer.push(_speech(3))
    recognizer.step()
    assert (recognizer.decodes, whisper.clips) == (1, [])  # a pass from 0 would repeat the same decode
