"""The streaming recogniser's own guards, on a stand-in for the Whisper model (its decodes are scripted)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from therapybridge.asr import TranscribeOptions
from therapybridge.live import LiveOptions
from therapybridge.live.recognizer import SAMPLE_RATE, StreamingRecognizer


class _ScriptedWhisper:
    """Every decode returns the same segment: the words given, 0.25 s each from the buffer's start."""

    def __init__(self, texts: list[str]) -> None:
        words = [SimpleNamespace(start=0.25 * i, end=0.25 * (i + 1), word=f" {t}", probability=0.9)
                 for i, t in enumerate(texts)]
        self.segment = SimpleNamespace(no_speech_prob=0.01, avg_logprob=-0.2, compression_ratio=1.5, words=words,
                                       text="".join(w.word for w in words))
        self.feature_extractor = lambda *args, **kwargs: None

    def transcribe(self, audio, **kwargs):
        return [self.segment], SimpleNamespace(language="en")


def _committed(texts: list[str]) -> list[str]:
    """Two decodes of the same hypothesis (they agree on it), then the session's end."""
    recognizer = StreamingRecognizer(_ScriptedWhisper(texts), LiveOptions(model="tiny.en"), TranscribeOptions())
    # Noise that swells and fades every half second, like speech over a quiet room (steady noise is a "quiet
    # step" and is not decoded at all).
    envelope = np.where(np.arange(5 * SAMPLE_RATE) // (SAMPLE_RATE // 2) % 2 == 0, 0.3, 0.003)
    speech = (np.random.default_rng(0).normal(0, 1, 5 * SAMPLE_RATE) * envelope).astype(np.float32)
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
