"""The shared array helpers (therapybridge.audio.signal) and the one channel-axis convention every stage follows:
``[channels, samples]``; a 2-D array with fewer samples than channels (a ``[samples, channels]`` array) is refused."""

from __future__ import annotations

import numpy as np
import pytest
import soxr
import torch

from therapybridge.audio import ops, signal
from therapybridge.errors import ConfigurationError, InvalidAudioError


def _stereo(seconds: float = 2.0, rate: int = 16000) -> np.ndarray:
    return np.random.default_rng(0).normal(0, 0.1, (2, int(seconds * rate))).astype(np.float32)


def test_two_rows_are_two_channels_and_one_d_is_one_channel():
    stereo = _stereo()
    assert signal.as_channels(stereo).shape == stereo.shape
    assert signal.as_channels(stereo[0]).shape == (1, stereo.shape[1])
    from_torch = signal.as_channels(torch.from_numpy(stereo).double())
    assert from_torch.dtype == np.float32 and np.array_equal(from_torch, stereo)
    np.testing.assert_array_equal(signal.to_mono(stereo), stereo.mean(axis=0))
    np.testing.assert_array_equal(signal.to_mono(stereo[:1]), stereo[0])
    assert signal.as_channels(np.zeros((2, 0))).shape == (2, 0)  # empty audio has no layout to get wrong


@pytest.mark.parametrize("shape", [(32000, 2), (32000, 1), (3, 2), (2, 2, 100)])
def test_samples_first_and_other_layouts_are_refused_not_guessed(shape):
    with pytest.raises(InvalidAudioError, match=r"\[channels, samples\]"):
        signal.as_channels(np.zeros(shape, np.float32))
    with pytest.raises(InvalidAudioError, match=r"\[channels, samples\]"):
        ops.to_mono(torch.zeros(shape))


def test_downmix_can_be_refused_with_the_step_named():
    with pytest.raises(ConfigurationError, match="recognition needs mono audio, got 2 channels"):
        signal.to_mono(_stereo(), downmix=False, purpose="recognition")


def test_resample_is_soxr_hq_per_channel_and_a_no_op_at_the_same_rate():
    stereo = _stereo(rate=44100)
    out = signal.resample(stereo, 44100, 16000)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.shape == (2, 32000)
    for channel in range(2):
        np.testing.assert_allclose(out[channel], soxr.resample(stereo[channel], 44100, 16000, quality="HQ"),
                                   atol=1e-6)
    np.testing.assert_array_equal(signal.resample(stereo[0], 44100, 16000), out[0])
    assert signal.resample(stereo, 16000, 16000) is stereo
    assert signal.resample(np.zeros((2, 0), np.float32), 44100, 16000).shape == (2, 0)
    with pytest.raises(InvalidAudioError):
        signal.resample(stereo.T, 44100, 16000)


def test_torch_resampling_goes_through_the_same_helper():
    stereo = _stereo(rate=44100)
    out = ops.resample(torch.from_numpy(stereo), 44100, 16000, method="soxr")
    np.testing.assert_array_equal(out.numpy(), signal.resample(stereo, 44100, 16000))


def test_frame_power_is_the_mean_square_of_whole_frames_across_blocks():
    samples = np.random.default_rng(1).normal(0, 1, 160 * 7001 + 37).astype(np.float32)  # > 2 blocks, a rest
    power = signal.frame_power(samples, 160)
    assert power.dtype == np.float64 and len(power) == 7001
    expected = np.mean(samples[: 7001 * 160].astype(np.float64).reshape(-1, 160) ** 2, axis=1)
    np.testing.assert_allclose(power, expected, rtol=1e-12)
    assert len(signal.frame_power(samples[:100], 160)) == 0


def test_every_stage_refuses_samples_first_audio_instead_of_guessing():
    """Before one convention, the diarizer averaged over the shorter axis, the channel-speaker mode transposed,
    embed_speech guessed from "at most 8 rows" and the recogniser took (n, 1) for mono."""
    from therapybridge.asr._signal import mono_16k
    from therapybridge.diarization import channel_speaker_hint, diarize_channels
    from therapybridge.diarization.embedding import embed_speech
    from therapybridge.diarization.engine import DefaultDiarizer

    samples_first = _stereo().T.copy()
    with pytest.raises(InvalidAudioError, match="transpose"):
        DefaultDiarizer("cpu").diarize(samples_first, 16000)  # refused before any model loads
    with pytest.raises(InvalidAudioError, match="transpose"):
        diarize_channels(samples_first, 16000)
    with pytest.raises(InvalidAudioError, match="transpose"):
        channel_speaker_hint(samples_first, 16000)
    with pytest.raises(InvalidAudioError, match="transpose"):
        embed_speech(samples_first, 16000)
    with pytest.raises(InvalidAudioError, match="transpose"):
        mono_16k(samples_first[:, :1], 16000)
    assert not channel_speaker_hint(samples_first[:, 0], 16000)  # mono is simply not channel-per-speaker
