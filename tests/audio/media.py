"""Test media for the audio tests: real speech from the sample, encoded with PyAV's own encoders."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import numpy as np
import soxr

from tests.datagen import read_wav
from tests.references import SAMPLE_WAV

# container suffix -> (encoder, container format)
CODECS = {
    "wav": ("pcm_s16le", "wav"),
    "mp3": ("libmp3lame", "mp3"),
    "m4a": ("aac", "mp4"),
    "flac": ("flac", "flac"),
    "ogg": ("libopus", "ogg"),
}


@lru_cache(maxsize=1)
def sample_speech() -> tuple[np.ndarray, int]:
    """The real two-speaker sample (30 s, 16 kHz mono) as float32."""
    audio, rate = read_wav(SAMPLE_WAV)
    return audio.astype(np.float32), rate


def speech_at(rate: int, seconds: float | None = None, offset: float = 6.0) -> np.ndarray:
    """Real speech from the sample, resampled to ``rate`` (soxr), optionally ``seconds`` long from ``offset``."""
    audio, base = sample_speech()
    if seconds is not None:
        audio = audio[int(offset * base) : int((offset + seconds) * base)]
    return audio if rate == base else soxr.resample(audio, base, rate).astype(np.float32)


def layout_for(channels: int) -> str:
    return {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(channels, f"{channels} channels")


def encode(
    path: Path, planar: np.ndarray, rate: int, codec: str | None = None, *, bit_rate: int = 128000, container_format: str | None = None
) -> Path:
    """Encode float audio ``[channels, samples]`` (or 1-D) with PyAV; codec and container follow the suffix."""
    planar = np.atleast_2d(np.asarray(planar, dtype=np.float32))
    default_codec, default_format = CODECS.get(path.suffix.lstrip("."), (None, None))
    codec = codec or default_codec
    with av.open(str(path), "w", format=container_format or default_format) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout_for(planar.shape[0]))
        if codec not in ("flac",) and not codec.startswith("pcm_"):
            stream.bit_rate = bit_rate
        fmt = stream.codec_context.format.name
        size = stream.codec_context.frame_size or 4096
        for offset in range(0, planar.shape[1], size):
            frame = av.AudioFrame.from_ndarray(_pack(planar[:, offset : offset + size], fmt), format=fmt, layout=stream.layout.name)
            frame.sample_rate, frame.pts, frame.time_base = rate, offset, Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _pack(block: np.ndarray, fmt: str) -> np.ndarray:
    base = fmt.rstrip("p")
    if base == "s16":
        data = np.round(np.clip(block, -1, 1 - 2**-15) * 32768).astype(np.int16)
    elif base == "s32":
        data = np.round(np.clip(block, -1, 1 - 2**-31) * 2**31).astype(np.int32)
    elif base == "flt":
        data = block.astype(np.float32)
    else:
        raise ValueError(f"test encoder does not handle sample format {fmt}")
    if not fmt.endswith("p"):
        data = data.T.reshape(1, -1)
    return np.ascontiguousarray(data)


def tiny_video(path: Path, *, with_audio: bool) -> Path:
    """A 2-second mp4 (a moving square) made with PyAV, with or without an AAC track of real speech."""
    speech = speech_at(16000, seconds=2.0)
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        audio = container.add_stream("aac", rate=16000, layout="mono") if with_audio else None
        for index in range(20):
            image = np.full((32, 32, 3), 30, dtype=np.uint8)
            image[index % 24 : index % 24 + 8, 4:12] = 220
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None:
            size = audio.codec_context.frame_size
            for offset in range(0, len(speech) - size, size):
                frame = av.AudioFrame.from_ndarray(speech[None, offset : offset + size], format="fltp", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = 16000, offset, Fraction(1, 16000)
                for packet in audio.encode(frame):
                    container.mux(packet)
            for packet in audio.encode(None):
                container.mux(packet)
    return path


def locate(template: np.ndarray, signal: np.ndarray, start: int = 0, stop: int | None = None) -> tuple[int, float]:
    """Where ``template`` best matches ``signal[start:stop]``: (sample offset in ``signal``, normalised
    cross-correlation there, 1.0 for a perfect match). Gain changes do not matter."""
    from scipy.signal import correlate

    region = signal[max(0, start) : stop].astype(np.float64)
    n = len(template)
    raw = correlate(region, template.astype(np.float64), mode="valid", method="fft")
    energy = np.concatenate(([0.0], np.cumsum(region**2)))
    window = np.sqrt(np.maximum(energy[n:] - energy[:-n], 1e-20)) * np.sqrt(np.sum(template.astype(np.float64) ** 2))
    score = raw / window
    best = int(np.argmax(score))
    return best + max(0, start), float(score[best])
