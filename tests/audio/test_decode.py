"""PyAV decoding: formats, channel counts, sample rates, float fidelity and every kind of bad input."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
import torch

from therapybridge import errors
from therapybridge.audio import decode_audio
from tests.audio.media import encode, locate, speech_at, tiny_video


@pytest.fixture(scope="module")
def stereo_speech() -> np.ndarray:
    speech = speech_at(44100, seconds=6.0)
    return np.stack([speech, 0.5 * speech])


@pytest.mark.parametrize("suffix", ["wav", "mp3", "m4a", "flac", "ogg"])
def test_every_common_format_decodes_in_place_and_on_time(suffix, stereo_speech, tmp_path):
    rate = 48000 if suffix == "ogg" else 44100  # Opus only runs at 48 kHz
    source = stereo_speech if rate == 44100 else np.stack([speech_at(rate, seconds=6.0)] * 2)
    decoded = decode_audio(encode(tmp_path / f"x.{suffix}", source, rate))

    assert decoded.sample_rate == rate and decoded.channels == 2 and decoded.source_channels == 2
    assert decoded.waveform.dtype == torch.float32
    assert decoded.duration == pytest.approx(6.0, abs=0.03)
    assert decoded.warnings == ()
    left = decoded.waveform[0].numpy()
    # Encoder delay must be compensated: the speech sits where it was, to the sample.
    probe = source[0, rate : 3 * rate]
    assert abs(locate(probe, left)[0] - rate) <= 2
    lossless = suffix in ("wav", "flac")
    n = min(left.shape[0], source.shape[1])
    error = left[:n] - source[0, :n]
    snr = 10 * np.log10(np.sum(source[0, :n] ** 2) / np.sum(error**2))
    assert snr > (60 if lossless else 15)  # 16-bit PCM on quiet speech gives ~70 dB


def test_float_wav_decodes_without_an_int16_round_trip(tmp_path):
    quiet = (speech_at(16000, seconds=2.0) * 1e-3).astype(np.float32)  # below int16 resolution in places
    decoded = decode_audio(encode(tmp_path / "f.wav", quiet, 16000, "pcm_f32le"))
    assert torch.equal(decoded.waveform[0], torch.from_numpy(quiet))


def test_integer_pcm_is_scaled_exactly(tmp_path):
    tone = (0.25 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.float32)
    decoded = decode_audio(encode(tmp_path / "t.flac", tone, 16000)).waveform[0].numpy()
    quantised = np.round(tone * 32768) / 32768
    np.testing.assert_allclose(decoded, quantised, atol=1e-7)


@pytest.mark.parametrize(
    ("channels", "rate"),
    [(1, 8000), (2, 22050), (6, 48000), (8, 96000), (32, 16000), (2, 192000)],
)
def test_channel_counts_and_sample_rates(channels, rate, tmp_path):
    seconds = 0.5
    t = np.arange(int(seconds * rate)) / rate
    # Each channel carries its own level, so a mix-up of channels would show.
    planar = np.stack([(0.02 * (c + 1)) * np.sin(2 * np.pi * 300 * t) for c in range(channels)]).astype(np.float32)
    path = encode(tmp_path / "multi.wav", planar, rate)

    everything = decode_audio(path)
    assert everything.waveform.shape == (channels, len(t)) and everything.sample_rate == rate
    levels = everything.waveform.abs().amax(dim=1).numpy()
    np.testing.assert_allclose(levels, 0.02 * np.arange(1, channels + 1), atol=1e-3)

    mono = decode_audio(path, mono=True).waveform
    torch.testing.assert_close(mono[0], everything.waveform.mean(dim=0), atol=1e-6, rtol=0)
    last = decode_audio(path, channel=channels - 1).waveform
    torch.testing.assert_close(last[0], everything.waveform[-1])


def test_channel_out_of_range_is_a_configuration_error(stereo_speech, tmp_path):
    path = encode(tmp_path / "s.wav", stereo_speech, 44100)
    with pytest.raises(errors.ConfigurationError, match="channel 2"):
        decode_audio(path, channel=2)


def test_file_objects_decode_like_paths(stereo_speech, tmp_path):
    path = encode(tmp_path / "s.mp3", stereo_speech, 44100)
    from_path = decode_audio(path, mono=True)
    from_bytes = decode_audio(io.BytesIO(path.read_bytes()), mono=True)
    assert torch.equal(from_path.waveform, from_bytes.waveform)


def test_truncated_mp3_decodes_what_it_can_with_a_warning(tmp_path, caplog):
    speech = speech_at(44100, seconds=20.0)
    full = encode(tmp_path / "full.mp3", np.stack([speech, speech]), 44100)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])

    decoded = decode_audio(cut)
    assert 8.0 < decoded.duration < 12.0
    assert decoded.warnings and "truncated" in decoded.warnings[0]
    assert any("truncated" in r.getMessage() for r in caplog.records)


def test_truncated_wav_decodes_what_it_can_with_a_warning(tmp_path):
    full = encode(tmp_path / "full.wav", speech_at(16000, seconds=10.0), 16000)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    decoded = decode_audio(cut)
    assert decoded.duration == pytest.approx(10.0 / 3, abs=0.05)
    assert any("truncated" in w for w in decoded.warnings)


def _one_line(exc: BaseException) -> bool:
    return "\n" not in str(exc) and len(str(exc)) < 300


@pytest.mark.parametrize(
    "content",
    [b"", b"Session notes. Not audio at all.\n" * 40, bytes(np.random.default_rng(3).integers(0, 256, 20000, dtype=np.uint8))],
    ids=["zero-bytes", "text-as-wav", "random-bytes"],
)
def test_undecodable_files_raise_audio_decode_error(content, tmp_path):
    path = tmp_path / "notes.wav"
    path.write_bytes(content)
    with pytest.raises(errors.AudioDecodeError) as info:
        decode_audio(path)
    assert _one_line(info.value) and "notes.wav" in str(info.value)
    assert "Errno" not in str(info.value)  # FFmpeg's reason, not its error number


def test_video_without_audio_raises_no_audio_stream(tmp_path):
    with pytest.raises(errors.NoAudioStreamError) as info:
        decode_audio(tiny_video(tmp_path / "v.mp4", with_audio=False))
    assert "video" in str(info.value) and _one_line(info.value)


def test_video_with_audio_gives_its_sound(tmp_path):
    decoded = decode_audio(tiny_video(tmp_path / "v.mp4", with_audio=True))
    assert decoded.sample_rate == 16000 and 1.8 < decoded.duration < 2.1


def test_zero_length_wav_raises_empty_audio(tmp_path):
    path = tmp_path / "empty.wav"
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(b"")
    with pytest.raises(errors.EmptyAudioError):
        decode_audio(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_raise_invalid_audio(bad, tmp_path):
    audio = speech_at(16000, seconds=1.0).copy()
    audio[4000] = bad
    with pytest.raises(errors.InvalidAudioError):
        decode_audio(encode(tmp_path / "nan.wav", audio, 16000, "pcm_f32le"))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(errors.InputNotFoundError):
        decode_audio(tmp_path / "nope.mp3")
    with pytest.raises(errors.AudioDecodeError, match="directory"):
        decode_audio(tmp_path)


def test_decoded_metadata_has_no_samples(stereo_speech, tmp_path):
    decoded = decode_audio(encode(tmp_path / "s.flac", stereo_speech, 44100), mono=True)
    info = decoded.to_dict()
    assert info["channels"] == 1 and info["source_channels"] == 2 and info["sample_rate"] == 44100
    assert set(info) == {"sample_rate", "channels", "source_channels", "duration", "device", "warnings"}


def test_sample_sink_grows_past_a_wrong_length_hint():
    from therapybridge.audio.decode import _SampleSink

    rng = np.random.default_rng(5)
    chunks = [rng.standard_normal((2, n)).astype(np.float32) for n in (1152, 700, 5000, 3)]
    sink = _SampleSink(2, torch.device("cpu"), 1000)  # the header promised fewer samples than there are
    for chunk in chunks:
        sink.write(chunk)
    assert torch.equal(sink.finish(), torch.from_numpy(np.concatenate(chunks, axis=1)))


def test_audio_stream_yields_the_decoded_samples_in_chunks(stereo_speech, tmp_path):
    from therapybridge.audio.decode import AudioStream

    path = encode(tmp_path / "s.flac", np.tile(stereo_speech, 2), 44100)
    stream = AudioStream(path, mono=True, chunk_samples=40000)
    chunks = list(stream)
    assert len(chunks) > 10 and all(c.shape[0] == 1 for c in chunks)
    assert stream.num_samples == 12 * 44100 and stream.warnings == ()
    whole = decode_audio(path).waveform.mean(dim=0)
    torch.testing.assert_close(torch.from_numpy(np.concatenate(chunks, axis=1)[0]), whole, atol=1e-6, rtol=0)


def test_abandoning_a_stream_stops_its_decoder_thread(stereo_speech, tmp_path):
    import threading

    from therapybridge.audio.decode import AudioStream

    path = encode(tmp_path / "s.flac", np.tile(stereo_speech, 4), 44100)
    for _ in AudioStream(path, chunk_samples=4096):
        break
    assert not any(t.name == "therapybridge-decode" and t.is_alive() for t in threading.enumerate())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_decoding_to_cuda_equals_cpu(stereo_speech, tmp_path):
    path = encode(tmp_path / "s.mp3", np.tile(stereo_speech, 4), 44100)
    on_gpu = decode_audio(path, device="cuda", mono=True)
    assert on_gpu.waveform.device.type == "cuda"
    assert torch.equal(on_gpu.waveform.cpu(), decode_audio(path, mono=True).waveform)
