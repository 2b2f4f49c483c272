"""One speaker per channel: diarization by channel activity and the stereo hint."""

from __future__ import annotations

import numpy as np

from tests.datagen import read_wav, stereo_channel_session
from therapybridge.diarization import DiarizationOptions, channel_speaker_hint, diarize_channels
from therapybridge.diarization.channels import own_voice

from .conftest import der


def test_channel_mode_follows_each_channel():
    path, reference = stereo_channel_session(minutes=3.0, seed=0)
    stereo, rate = read_wav(path)
    result = diarize_channels(stereo, rate)
    assert result.num_speakers == 2
    # Seeds 0-5 of stereo_channel_session(3 min), speech 10 dB above the channel's floor or Silero-sure, grown to
    # the lower line: DER 0.043, 0.048, 0.062, 0.052, 0.046, 0.047 (mean 0.050, sd 0.007; without the growing 0.051,
    # sd 0.007; the level margin alone mean 0.044, sd 0.006). Threshold = mean + 2 sd = 0.064 -> 0.07.
    assert der(reference.turns, result, reference.duration) <= 0.07
    assert result.info["engine"] == "channels"


def test_own_voice_leaves_out_only_the_other_speakers_bleed():
    rate = 16000
    t = np.arange(6 * rate) / rate
    voice = (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)
    noise = np.random.default_rng(0).standard_normal((2, len(t))).astype(np.float32) * 1e-4
    a, b = np.zeros(len(t), np.float32), np.zeros(len(t), np.float32)
    a[: 2 * rate] = voice[: 2 * rate]  # A talks 0-2 s, B 3-5 s; each leaks into the other's microphone at -25 dB
    b[3 * rate : 5 * rate] = 0.05 * voice[3 * rate : 5 * rate]  # B is soft: 26 dB below A
    bleed = 10 ** (-25 / 20)
    stereo = np.stack([a + bleed * b, b + bleed * a]) + noise
    order = diarize_channels(stereo, rate).info["speaker_channels"]
    heard = own_voice(stereo, rate)

    def covers(spans, start, end):
        return sum(max(0.0, min(e, end) - max(s, start)) for s, e in spans) / (end - start)

    assert order == [0, 1]  # speakers in order of first speech, each with its channel
    assert covers(heard[1], 0.1, 1.9) == 0.0 and covers(heard[0], 3.1, 4.9) == 0.0  # the bleed
    assert covers(heard[0], 0.1, 1.9) == 1.0 and covers(heard[1], 3.1, 4.9) == 1.0  # each voice, the soft one too
    assert covers(heard[0], 5.2, 5.9) == 1.0 and covers(heard[1], 5.2, 5.9) == 1.0  # silence is not left out


def test_a_soft_voice_at_a_low_snr_keeps_its_speech():
    """The opening four minutes of the development session d06 (two voices with a wide dynamic range, 15 dB SNR)
    recorded one speaker per channel (``opening=240``: the whole eight minutes take twice as long to build). Over the
    session's own acoustics and seeds 1-4, the level margin alone scores DER 0.155, 0.083, 0.109, 0.108, 0.074; with
    Silero's confident speech 0.075, 0.051, 0.076, 0.072, 0.051; grown to the lower line (the hysteresis of
    ``channels``) 0.064, 0.041, 0.066, 0.065, 0.039 (sd 0.014): bound 0.066 + 0.014 -> 0.08. (The whole session:
    0.166, 0.085, 0.114 by the margin alone, 0.078, 0.054, 0.065 with Silero, 0.063, 0.039, 0.055 grown, seeds 0-2.)"""
    from dataclasses import replace

    from tests.corpus.build import build_session
    from tests.corpus.sessions import session
    from therapybridge.audio import decode_audio
    from therapybridge.evaluation import score_diarization

    built = build_session(replace(session("d06"), codec="stereo"), opening=240.0)
    decoded = decode_audio(built.audio)
    result = diarize_channels(decoded.waveform, decoded.sample_rate)
    score = score_diarization(list(built.turns), list(result.turns))
    assert result.num_speakers == 2
    assert score.der <= 0.08, f"DER {score.der:.3f} (missed {score.missed:.3f})"


def test_engine_uses_channel_mode_when_asked(diarizer):
    path, reference = stereo_channel_session(minutes=3.0, seed=0)
    stereo, rate = read_wav(path)
    result = diarizer.diarize(stereo, rate, DiarizationOptions(channel_speakers=True))
    assert result.info["engine"] == "channels" and result.num_speakers == 2


def test_hint_detects_split_channels_only():
    path, reference = stereo_channel_session(minutes=3.0, seed=0)
    stereo, rate = read_wav(path)
    assert channel_speaker_hint(stereo, rate)
    mono, _ = read_wav(reference.wav)
    assert not channel_speaker_hint(np.stack([mono, mono]), rate)
    assert not channel_speaker_hint(np.stack([mono, 0.5 * mono]), rate)
    assert not channel_speaker_hint(mono, rate)


def test_speaker_count_hints_are_refused_with_channel_mode():
    import pytest

    from therapybridge.errors import ConfigurationError

    for hint in ({"num_speakers": 2}, {"min_speakers": 1}, {"max_speakers": 3}):
        with pytest.raises(ConfigurationError, match="one speaker per channel"):
            DiarizationOptions(channel_speakers=True, **hint)
    assert DiarizationOptions(channel_speakers=True).channel_speakers


def test_channel_mode_defaults_to_auto_and_reads_the_toml_spelling():
    import pytest

    from therapybridge.errors import ConfigurationError

    assert DiarizationOptions().channel_speakers is None
    assert DiarizationOptions(channel_speakers="auto").channel_speakers is None
    with pytest.raises(ConfigurationError, match="channel_speakers must be"):
        DiarizationOptions(channel_speakers="yes")
    # Under auto a count hint is allowed: it only decides whether the channels may be the speakers.
    assert DiarizationOptions(num_speakers=2).allows_count(2)
    assert not DiarizationOptions(num_speakers=3).allows_count(2)
    assert DiarizationOptions(min_speakers=2, max_speakers=4).allows_count(2)
    assert not DiarizationOptions(min_speakers=3).allows_count(2)
    assert DiarizationOptions().allows_count(5)


def test_the_pipeline_choice_takes_channels_only_when_they_are_the_speakers():
    from therapybridge.diarization import diarize_if_channel_speakers

    path, reference = stereo_channel_session(minutes=1.0, seed=1)
    stereo, rate = read_wav(path)
    chosen = diarize_if_channel_speakers(stereo, rate)
    assert chosen is not None and chosen.info["engine"] == "channels" and chosen.num_speakers == 2
    assert diarize_if_channel_speakers(stereo, rate, DiarizationOptions(num_speakers=2)) is not None
    assert diarize_if_channel_speakers(stereo, rate, DiarizationOptions(num_speakers=3)) is None
    assert diarize_if_channel_speakers(stereo, rate, DiarizationOptions(channel_speakers=False)) is None
    mono, _ = read_wav(reference.wav)
    assert diarize_if_channel_speakers(np.stack([mono, mono]), rate) is None
    assert diarize_if_channel_speakers(mono, rate) is None
    forced = diarize_if_channel_speakers(np.stack([mono, mono]), rate, DiarizationOptions(channel_speakers=True))
    assert forced is not None and forced.info["engine"] == "channels"


def test_speech_grows_while_the_channel_stays_above_the_lower_line():
    from therapybridge.diarization.channels import _grown

    core = np.array([[0, 0, 1, 0, 0, 0, 0, 0]], dtype=bool)
    weak = np.array([[0, 1, 1, 1, 1, 0, 1, 1]], dtype=bool)
    # the run around the sure frame grows both ways; a run above the lower line with no sure frame stays silence
    assert _grown(core, weak).astype(int).tolist() == [[0, 1, 1, 1, 1, 0, 0, 0]]
