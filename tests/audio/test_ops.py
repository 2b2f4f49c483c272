"""Signal operations: resampling quality, silence detection, cutting, BS.1770 loudness, device parity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soxr
import torch
from scipy.signal import sosfilt

from therapybridge import errors
from therapybridge.audio import ops
from tests.audio.media import sample_speech, speech_at

ACCELERATORS = [d for d, ok in (("cuda", torch.cuda.is_available()), ("mps", torch.backends.mps.is_available())) if ok]


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    n = min(len(reference), len(other))
    return float(10 * np.log10(np.sum(reference[:n] ** 2) / np.sum((reference[:n] - other[:n]) ** 2)))


def sweep(rate: int, seconds: float = 10.0, low: float = 50.0, high: float = 7000.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * (low * t + (high - low) * t**2 / (2 * seconds)))).astype(np.float32)


# ------------------------------------------------------------------ channels


def test_to_mono_averages_or_picks_a_channel():
    stereo = torch.tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]])
    assert torch.equal(ops.to_mono(stereo), torch.tensor([2.0, 3.0, 4.0]))
    assert torch.equal(ops.to_mono(stereo, channel=1), stereo[1])
    assert torch.equal(ops.to_mono(stereo[0]), stereo[0])
    with pytest.raises(errors.ConfigurationError):
        ops.to_mono(stereo, channel=2)


# ------------------------------------------------------------------ resampling


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_julius_path_matches_soxr_on_a_sine_sweep(rate):
    signal = torch.from_numpy(sweep(rate))
    reference = ops.resample(signal, rate, 16000, method="soxr").numpy()
    candidate = ops.resample(signal, rate, 16000, method="julius").numpy()
    assert len(candidate) == len(reference) == 160000
    assert snr_db(reference, candidate) >= 40.0


@pytest.mark.parametrize(("source", "target"), [(44100, 16000), (16000, 8000), (16000, 48000)])
def test_julius_path_matches_soxr_on_real_speech(source, target):
    speech = torch.from_numpy(speech_at(source))
    reference = ops.resample(speech, source, target, method="soxr").numpy()
    candidate = ops.resample(speech, source, target, method="julius").numpy()
    assert snr_db(reference, candidate) >= 40.0


@pytest.mark.parametrize("method", ["soxr", "julius"])
def test_resampling_never_shifts_time(method):
    rate = 44100
    clicks = np.zeros(rate * 2, dtype=np.float32)
    for second in (0.5, 1.25):
        clicks[int(second * rate)] = 1.0
    out = ops.resample(torch.from_numpy(clicks), rate, 16000, method=method).numpy()
    peaks = sorted(np.argsort(np.abs(out))[-2:])
    assert [round(p / 16000, 4) for p in peaks] == pytest.approx([0.5, 1.25], abs=1 / 16000)


def test_resampling_keeps_channels_and_handles_empty_input():
    stereo = torch.from_numpy(np.stack([sweep(44100, 1.0), 0.5 * sweep(44100, 1.0)]))
    for method in ("soxr", "julius"):
        out = ops.resample(stereo, 44100, 16000, method=method)
        assert out.shape == (2, 16000)
        torch.testing.assert_close(out[1], 0.5 * out[0], atol=1e-5, rtol=0)
        assert ops.resample(torch.zeros(0), 44100, 16000, method=method).shape == (0,)
    with pytest.raises(errors.ConfigurationError):
        ops.resample(stereo, 44100, 16000, method="linear")


def test_auto_method_is_soxr_on_cpu_and_julius_elsewhere():
    assert ops.resample_method_for(torch.device("cpu")) == "soxr"
    assert ops.resample_method_for(torch.device("cuda")) == "julius"


# ------------------------------------------------------------------ silence detection and cutting


def test_frame_db_over_several_blocks_and_a_partial_last_frame_is_each_frames_own_level():
    n = 320 * (ops._LEVEL_BLOCK_FRAMES + 7) + 5
    signal = torch.from_numpy(np.random.default_rng(0).standard_normal(n).astype(np.float32))
    levels = ops.frame_db(signal, 320)
    x = signal.numpy().astype(np.float64)
    for frame in (0, ops._LEVEL_BLOCK_FRAMES - 1, ops._LEVEL_BLOCK_FRAMES, len(levels) - 2):
        expected = 10 * np.log10(np.mean(x[frame * 320 : (frame + 1) * 320] ** 2))
        assert float(levels[frame]) == pytest.approx(expected, abs=1e-3)
    assert float(levels[-1]) == pytest.approx(10 * np.log10(np.mean(x[-5:] ** 2)), abs=1e-3)


def test_frame_db_of_a_full_scale_sine_is_minus_3_db():
    t = np.arange(16000) / 16000
    sine = torch.from_numpy(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    levels = ops.frame_db(sine, 320)
    assert levels.shape == (50,)
    torch.testing.assert_close(levels, torch.full((50,), -3.0103), atol=0.01, rtol=0)
    assert float(ops.frame_db(torch.zeros(640), 320).max()) == pytest.approx(-120.0)


def _bursts(level: float, rate: int = 16000) -> tuple[torch.Tensor, list[tuple[float, float]]]:
    """Real speech bursts at known places in quiet room noise, all scaled by ``level``."""
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 10 ** (-60 / 20), rate * 20).astype(np.float32)
    places = [(1.0, 3.0), (7.5, 9.0), (15.0, 17.0)]
    speech = speech_at(rate)
    for (start, end), offset in zip(places, (6.8, 9.9, 14.1)):
        clip = speech[int(offset * rate) : int(offset * rate) + int((end - start) * rate)]
        audio[int(start * rate) : int(start * rate) + len(clip)] += clip
    return torch.from_numpy(audio * level), places


@pytest.mark.parametrize("level", [1.0, 0.05])
def test_detected_speech_follows_the_recording_level(level):
    audio, places = _bursts(level)
    found = ops.detect_speech(audio, 16000)
    first, last = found.speech[0][0] / 16000, found.speech[-1][1] / 16000
    assert first == pytest.approx(places[0][0], abs=0.15) and last == pytest.approx(places[-1][1], abs=0.15)
    # Every detected run lies inside a burst; no run in the 4+ s gaps of noise.
    for start, end in found.speech:
        assert any(a - 0.05 <= start / 16000 and end / 16000 <= b + 0.05 for a, b in places)
    # Room noise at -60 dBFS (times the level) sets the threshold 6 dB above it.
    assert found.noise_db == pytest.approx(-60 + 20 * math.log10(level), abs=1.0)
    assert found.threshold_db == pytest.approx(max(found.noise_db + 6.0, -65.0), abs=0.01)


def test_silence_has_no_speech():
    assert ops.detect_speech(torch.zeros(16000 * 3), 16000).speech == ()
    quiet = torch.from_numpy(np.random.default_rng(1).normal(0, 1e-4, 48000).astype(np.float32))
    assert ops.detect_speech(quiet, 16000).speech == ()  # -80 dBFS noise is under the absolute floor
    assert ops.detect_speech(torch.zeros(0), 16000).speech == ()


def test_plan_shortens_long_pauses_and_trims_edges():
    speech = [(1000, 2000), (2500, 3000), (13000, 14000)]
    spans = ops.plan_kept_spans(speech, 20000, edge_pad=100, max_pause=2000, trim_edges=True)
    # The 10000-sample pause keeps 1000 after the speech before it and 1000 before the speech after it.
    assert spans == [(900, 4000), (12000, 14100)]
    untrimmed = ops.plan_kept_spans(speech, 20000, edge_pad=100, max_pause=2000, trim_edges=False)
    assert untrimmed == [(0, 4000), (12000, 20000)]
    assert ops.plan_kept_spans(speech, 20000, edge_pad=100, max_pause=None, trim_edges=True) == [(900, 14100)]
    assert ops.plan_kept_spans([], 20000, edge_pad=100, max_pause=2000, trim_edges=True) == []
    assert ops.plan_kept_spans([], 20000, edge_pad=100, max_pause=2000, trim_edges=False) == [(0, 20000)]


def test_plan_removes_whole_frames_so_frames_keep_their_grid():
    speech = [(1000, 2000), (2500, 3000), (13001, 14000), (40017, 41000)]
    spans = ops.plan_kept_spans(speech, 50000, edge_pad=130, max_pause=2000, trim_edges=True, grid=320)
    offsets, used = [], 0
    for start, end in spans:
        offsets.append(start - used)
        used += end - start
    assert all(offset % 320 == 0 for offset in offsets)
    # At most one frame more of each pause is kept, and never less than asked.
    assert spans[0][0] == 640 and spans[-1][1] == 41130
    for (_, end), (start, _) in zip(spans, spans[1:]):
        prev_end = max(e for _, e in speech if e <= end)
        next_start = min(s for s, _ in speech if s >= start)
        assert 2000 <= (end - prev_end) + (next_start - start) < 2000 + 320


def test_cut_concatenates_kept_spans():
    audio = torch.arange(10.0)
    assert torch.equal(ops.cut(audio, [(1, 3), (6, 8)]), torch.tensor([1.0, 2.0, 6.0, 7.0]))
    assert torch.equal(audio, torch.arange(10.0))
    assert ops.cut(audio, []).shape == (0,)
    assert torch.equal(ops.cut(torch.stack([audio, -audio]), [(0, 2), (8, 10)])[1], torch.tensor([-0.0, -1.0, -8.0, -9.0]))
    # In place: overlapping moves (span 2 lands where span 1 was) come out right, in the same memory.
    long = torch.arange(100.0)
    expected = torch.cat([long[5:40], long[42:90], long[95:]])
    moved = ops.cut(long, [(5, 40), (42, 90), (95, 100)], in_place=True)
    assert torch.equal(moved, expected) and moved.data_ptr() == long.data_ptr()


# ------------------------------------------------------------------ loudness


def test_k_weighting_reproduces_the_standards_48k_coefficients():
    # ITU-R BS.1770-4, tables 1 and 2.
    expected = np.array(
        [
            [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585],
            [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
        ]
    )
    np.testing.assert_allclose(ops.k_weighting_sos(48000), expected, atol=1e-9)


@pytest.mark.parametrize("rate", [8000, 16000, 44100])
def test_fft_k_weighting_equals_the_iir_filter(rate):
    speech = speech_at(rate, seconds=8.0)
    reference = sosfilt(ops.k_weighting_sos(rate), speech.astype(np.float64))
    for method in ("iir", "fft"):  # CPU tensors take the IIR, accelerators the FFT convolution
        filtered = ops.k_weight(torch.from_numpy(speech), rate, method=method).numpy()
        assert np.max(np.abs(filtered - reference)) < 1e-5
    fft = ops.integrated_loudness(torch.from_numpy(speech), rate, method="fft")
    assert fft == pytest.approx(ops.integrated_loudness(torch.from_numpy(speech), rate, method="iir"), abs=0.001)


def test_loudness_of_the_standards_reference_tone():
    # A 997 Hz sine peaking at -20 dBFS reads -23.01 LUFS in one channel (BS.1770-4, annex 1 calibration).
    t = np.arange(16000 * 5) / 16000
    tone = torch.from_numpy((0.1 * np.sin(2 * np.pi * 997 * t)).astype(np.float32))
    assert ops.integrated_loudness(tone, 16000) == pytest.approx(-23.01, abs=0.05)


def test_gating_ignores_silence():
    speech = torch.from_numpy(speech_at(16000))
    padded = torch.cat([torch.zeros(16000 * 60), speech, torch.zeros(16000 * 60)])
    assert ops.integrated_loudness(padded, 16000) == pytest.approx(ops.integrated_loudness(speech, 16000), abs=0.1)
    assert ops.integrated_loudness(torch.zeros(16000 * 2), 16000) == -math.inf


@pytest.mark.parametrize("target", [-23.0, -30.0])
def test_loudness_normalization_reaches_the_target(target):
    speech = torch.from_numpy(speech_at(16000) * 0.3)
    out, measured, gain = ops.loudness_normalize(speech, 16000, target, peak_ceiling_dbfs=0.0)
    assert measured < target
    assert ops.integrated_loudness(out, 16000) == pytest.approx(target, abs=0.5)


def test_loudness_gain_stops_below_the_peak_ceiling():
    speech = torch.from_numpy(speech_at(16000) * 0.1)
    out, measured, gain = ops.loudness_normalize(speech, 16000, -5.0, peak_ceiling_dbfs=-1.0)
    assert ops.peak_db(out) == pytest.approx(-1.0, abs=0.01)
    assert ops.integrated_loudness(out, 16000) < -5.0


def test_peak_normalization():
    speech = torch.from_numpy(speech_at(16000) * 0.2)
    out, gain = ops.peak_normalize(speech, -1.0)
    assert ops.peak_db(out) == pytest.approx(-1.0, abs=1e-4)
    silent, zero_gain = ops.peak_normalize(torch.zeros(100))
    assert zero_gain == 0.0 and torch.equal(silent, torch.zeros(100))


# ------------------------------------------------------------------ device parity


@pytest.mark.parametrize("device", ACCELERATORS or [pytest.param("cuda", marks=pytest.mark.skip(reason="no GPU"))])
def test_operations_on_an_accelerator_equal_the_cpu(device):
    speech, rate = sample_speech()
    stereo = np.stack([soxr.resample(speech, rate, 44100), 0.7 * soxr.resample(speech, rate, 44100)]).astype(np.float32)
    cpu = torch.from_numpy(stereo)
    gpu = cpu.to(device)

    mono_cpu, mono_gpu = ops.to_mono(cpu), ops.to_mono(gpu)
    torch.testing.assert_close(mono_gpu.cpu(), mono_cpu, atol=1e-6, rtol=0)
    # The CPU uses soxr and the accelerator julius: the tested tolerance is the 40 dB quality bound.
    down_cpu = ops.resample(mono_cpu, 44100, 16000)
    down_gpu = ops.resample(mono_gpu, 44100, 16000)
    assert down_gpu.device.type == device and snr_db(down_cpu.numpy(), down_gpu.cpu().numpy()) >= 40.0
    same_method = ops.resample(mono_cpu, 44100, 16000, method="julius")
    torch.testing.assert_close(down_gpu.cpu(), same_method, atol=1e-5, rtol=0)

    torch.testing.assert_close(ops.frame_db(down_gpu, 320).cpu(), ops.frame_db(down_cpu, 320), atol=0.5, rtol=0)
    speech_cpu = ops.detect_speech(same_method, 16000).speech
    speech_gpu = ops.detect_speech(down_gpu, 16000).speech
    assert speech_gpu == speech_cpu
    assert ops.integrated_loudness(down_gpu, 16000) == pytest.approx(ops.integrated_loudness(same_method, 16000), abs=0.01)


def test_streamed_soxr_equals_one_shot_soxr():
    speech = speech_at(44100)
    stream = ops.StreamResampler(44100, 16000)
    for start in range(0, len(speech), 30000):
        stream.feed(speech[start : start + 30000])
    streamed = stream.finish()
    assert torch.equal(streamed, ops.resample(torch.from_numpy(speech), 44100, 16000, method="soxr"))
    assert stream.busy_seconds > 0


def test_a_stream_resampler_that_keeps_nothing_returns_the_same_pieces():
    speech = speech_at(48000)
    kept, unkept = ops.StreamResampler(48000, 16000), ops.StreamResampler(48000, 16000, keep=False)
    pieces = [unkept.feed(speech[start : start + 4096].copy()) for start in range(0, len(speech), 4096)]
    for start in range(0, len(speech), 4096):
        kept.feed(speech[start : start + 4096])
    pieces.append(unkept.flush())
    assert np.array_equal(np.concatenate(pieces), kept.finish().numpy())
    with pytest.raises(errors.ConfigurationError, match="keeps nothing"):
        unkept.finish()


def test_level_meter_fed_in_chunks_equals_whole_signal_measurement():
    rng = np.random.default_rng(2)
    speech = np.concatenate([speech_at(16000), rng.normal(0, 1e-3, 16000 * 5).astype(np.float32), speech_at(16000)[:12345]])
    whole = ops.measure_levels(torch.from_numpy(speech), 16000)
    meter = ops.LevelMeter(16000)
    for start in range(0, len(speech), 7777):  # chunks that never line up with frames or 100 ms blocks
        meter.feed(speech[start : start + 7777])
    streamed = meter.finish()
    assert streamed.num_samples == whole.num_samples and streamed.frame_length == whole.frame_length == 320
    torch.testing.assert_close(streamed.frame_db, whole.frame_db, atol=1e-3, rtol=0)
    assert streamed.loudness_lufs == pytest.approx(whole.loudness_lufs, abs=1e-4)
    assert streamed.peak_dbfs == pytest.approx(whole.peak_dbfs, abs=1e-6)
