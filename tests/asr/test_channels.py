"""Channel-by-channel recognition of a recording with one speaker per channel (therapybridge.asr.channels)."""

from __future__ import annotations

import numpy as np

from therapybridge.asr.channels import _not_bleed, kept_only, recognise_channels
from therapybridge.asr.recovery import keep_words
from therapybridge.types import Segment, SpeakerTurn, Word

# The first 90 s of the development stereo session d09 (two women, one per channel, 20 dB SNR) holds four
# backchannels said under the other's sentence. Only the sentences that start in those 90 s are recorded
# (``build_session(..., opening=90)``: 7 s to build; the whole 12 minutes' room tone alone is four 12 s FFTs). tiny.en, over the
# session's own acoustics and acoustic seeds 1-4: WER 0.067 0.060 0.057 0.057 0.070 (sd 0.006) -> bound 0.08;
# backchannel words recognised 2 of 4 on all five, every one with its speaker; WDER 0 on all five. (The whole
# session's recording gave 0.070 0.063 0.053 0.053 0.070 and 2-3 backchannels; decoding the mix instead gave WER
# 0.35 0.41 0.35 0.35 0.11 and recognised at most one of the backchannels.)
SECONDS = 90.0
WER_BOUND = 0.08
MIN_BACKCHANNELS = 2
WDER_BOUND = 0.01


class _Recording:
    """The real transcriber, noting the language each ``transcribe`` call was given."""

    def __init__(self, transcriber):
        self._transcriber = transcriber
        self.languages: list[str | None] = []

    def __getattr__(self, name):
        return getattr(self._transcriber, name)

    def transcribe(self, *args, language=None, **kwargs):
        self.languages.append(language)
        return self._transcriber.transcribe(*args, language=language, **kwargs)


def test_kept_only_silences_everything_outside_the_padded_spans():
    samples = np.ones(16000 * 4, dtype=np.float32)
    out = kept_only(samples, [(1.0, 2.0)], pad=0.25)
    assert out[: int(0.75 * 16000) - 1].max() == 0.0 and out[int(2.25 * 16000) + 1 :].max() == 0.0
    assert out[int(0.75 * 16000) + 1 : int(2.25 * 16000) - 1].min() == 1.0
    assert samples.min() == 1.0  # a copy: the input is left as it was


def test_a_word_inside_only_the_other_speakers_turn_is_bleed():
    own = [SpeakerTurn(0.0, 2.0, "A"), SpeakerTurn(5.0, 6.0, "A")]
    others = [SpeakerTurn(1.5, 5.5, "B")]
    words = (Word(0.2, 0.4, " mine"), Word(1.6, 1.8, " overlap"), Word(3.0, 3.2, " bleed"), Word(7.0, 7.2, " quiet"),
             Word(None, None, " untimed"))
    kept = keep_words([Segment(0.2, 7.2, "".join(w.word for w in words), words, "A")], _not_bleed(own, others))
    assert [w.word for s in kept for w in s.words] == [" mine", " overlap", " quiet", " untimed"]
    assert kept[0].text == "mine overlap quiet untimed"


def test_each_channel_is_recognised_with_its_speaker_and_backchannels_survive(tiny_en):
    from tests.corpus.build import build_session
    from tests.corpus.sessions import session
    from therapybridge.audio import decode_audio
    from therapybridge.diarization.channels import diarize_channels, own_voice
    from therapybridge.evaluation import read_stm, score_turns_and_words

    built = build_session(session("d09"), opening=SECONDS)
    decoded = decode_audio(built.audio)
    x = decoded.waveform.numpy()[:, : int(SECONDS * decoded.sample_rate)]
    diarization = diarize_channels(x, decoded.sample_rate)
    transcriber = _Recording(tiny_en)
    found = recognise_channels(transcriber, x, decoded.sample_rate, diarization.turns,
                               diarization.info["speaker_channels"], diarization.speakers,
                               own_voice(x, decoded.sample_rate))
    # The language is found once for the recording and every channel is decoded in it.
    assert transcriber.languages == ["en", "en"] and found.language == "en"
    assert [s.start for s in found.segments] == sorted(s.start for s in found.segments)
    assert all(w.speaker == s.speaker for s in found.segments for w in s.words)
    assert {s.speaker for s in found.segments} == set(diarization.speakers)
    words = [w for s in found.segments for w in s.words]
    score = score_turns_and_words([t for t in built.turns if t.end <= SECONDS], list(diarization.turns), words,
                                  [u for u in read_stm(built.stm) if u.end <= SECONDS])
    attribution = score.attribution
    assert score.words.wer <= WER_BOUND, f"WER {score.words.wer:.3f}"
    assert attribution.wder <= WDER_BOUND, f"WDER {attribution.wder:.3f}"
    assert attribution.backchannel_hits >= MIN_BACKCHANNELS, f"{attribution.backchannel_hits} backchannels recognised"
    assert attribution.backchannel_speaker_accuracy == 1.0
