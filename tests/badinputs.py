"""A small generated corpus of awkward and broken inputs (issue: reliability), made with PyAV and numpy."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.datagen import read_wav
from tests.references import SAMPLE_WAV


def sample_audio() -> tuple[np.ndarray, int]:
    audio, rate = read_wav(SAMPLE_WAV)
    return audio.astype(np.float32), rate


def encode(path: Path, audio: np.ndarray, rate: int, codec: str = "pcm_s16le", *, bit_rate: int | None = None) -> Path:
    """Encode float audio shaped [samples] or [channels, samples] into ``path`` (container from the suffix)."""
    planar = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    channels = planar.shape[0]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=_layout(channels))
        if bit_rate:
            stream.bit_rate = bit_rate
        fmt = stream.codec_context.format.name
        chunk = 1152 * 4
        for offset in range(0, planar.shape[1], chunk):
            block = planar[:, offset : offset + chunk]
            frame = av.AudioFrame.from_ndarray(_pack(block, fmt), format=fmt, layout=_layout(channels))
            frame.sample_rate = rate
            frame.pts = offset
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _layout(channels: int) -> str:
    return {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(channels, f"{channels}c")


_SCALES = {"s16": (np.int16, 32767), "s32": (np.int32, 2147483647), "flt": (np.float32, None)}


def _pack(block: np.ndarray, fmt: str) -> np.ndarray:
    """Float [channels, samples] to the array layout PyAV expects for ``fmt`` (packed or planar)."""
    planar = fmt.endswith("p")
    dtype, scale = _SCALES[fmt.rstrip("p")]
    data = block if scale is None else np.clip(block, -1, 1) * scale
    data = data.astype(dtype)
    return np.ascontiguousarray(data if planar else data.T.reshape(1, -1))


def resample_linear(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    positions = np.arange(int(len(audio) * target / rate)) * rate / target
    return np.interp(positions, np.arange(len(audio)), audio).astype(np.float32)


def video(path: Path, *, with_audio: bool) -> Path:
    """A 4-second mp4: a moving grey square, and optionally the sample's first seconds as AAC."""
    audio, rate = sample_audio()
    seconds = 4
    with av.open(str(path), "w") as container:
        vstream = container.add_stream("mpeg4", rate=10)
        vstream.width, vstream.height, vstream.pix_fmt = 64, 64, "yuv420p"
        astream = container.add_stream("aac", rate=rate, layout="mono") if with_audio else None
        for index in range(seconds * 10):
            image = np.full((64, 64, 3), 40, dtype=np.uint8)
            image[index % 48 : index % 48 + 16, 10:26] = 200
            for packet in vstream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in vstream.encode(None):
            container.mux(packet)
        if astream is not None:
            clip = audio[6 * rate : (6 + seconds) * rate]
            fmt = astream.codec_context.format.name
            size = astream.codec_context.frame_size or 1024
            for offset in range(0, len(clip) - size, size):
                frame = av.AudioFrame.from_ndarray(_pack(clip[None, offset : offset + size], fmt), format=fmt, layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = rate, offset, Fraction(1, rate)
                for packet in astream.encode(frame):
                    container.mux(packet)
            for packet in astream.encode(None):
                container.mux(packet)
    return path


def build_corpus(directory: Path) -> dict[str, Path]:
    """Write every case into ``directory``; returns name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    audio, rate = sample_audio()
    rng = np.random.default_rng(7)
    cases: dict[str, Path] = {}

    cases["zero_bytes"] = directory / "zero.wav"
    cases["zero_bytes"].write_bytes(b"")
    cases["text_as_wav"] = directory / "notes.wav"
    cases["text_as_wav"].write_text("Session notes. Not audio at all.\n" * 50)
    mp3 = encode(directory / "full.mp3", audio, rate, "libmp3lame", bit_rate=64000)
    cases["truncated_mp3"] = directory / "truncated.mp3"
    cases["truncated_mp3"].write_bytes(mp3.read_bytes()[: mp3.stat().st_size * 2 // 3])
    mp3.unlink()
    cases["video_no_audio"] = video(directory / "silent-video.mp4", with_audio=False)
    cases["video_with_audio"] = video(directory / "video.mp4", with_audio=True)
    cases["one_sample"] = encode(directory / "one-sample.wav", audio[6 * rate : 6 * rate + 1], rate)
    cases["silence"] = encode(directory / "silence.wav", np.zeros(rate * 20, dtype=np.float32), rate)
    noise = rng.normal(0, 0.1, rate * 20).astype(np.float32)
    cases["white_noise"] = encode(directory / "noise.wav", noise, rate)
    bad = audio[: rate * 10].copy()
    bad[rate * 2 : rate * 2 + 100] = np.nan
    bad[rate * 4] = np.inf
    cases["nan_inf"] = encode(directory / "nan.wav", bad, rate, "pcm_f32le")
    cases["telephone_8k"] = encode(directory / "phone-8k.wav", resample_linear(audio, rate, 8000), 8000)
    hi = resample_linear(audio, rate, 192000)
    eight = np.stack([hi * (0.5 + 0.05 * c) for c in range(8)])
    cases["hires_192k_8ch"] = encode(directory / "hires-8ch.flac", eight, 192000, "flac")
    cases["clipped"] = encode(directory / "clipped.wav", np.clip(audio * 12.0, -1.0, 1.0), rate)
    start = int(8.44 * rate)
    cases["short_utterance"] = encode(directory / "short.wav", audio[start : start + int(0.3 * rate)], rate)
    return cases
