"""Decode any audio or video file with PyAV straight to float32, frame by frame, onto a torch device.

The decoder's own float output is used where it has one (mp3, aac, vorbis and opus decode to float), and
integer PCM is scaled to float directly, so there is never an int16 round trip. A mono downmix or a single
channel can be taken per frame, which halves the memory a stereo recording needs.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Union

import numpy as np
import torch

from ..errors import (
    AudioDecodeError,
    ConfigurationError,
    EmptyAudioError,
    InputNotFoundError,
    InputPermissionError,
    InvalidAudioError,
    NoAudioStreamError,
)

logger = logging.getLogger(__name__)

AudioSource = Union[str, os.PathLike, IO[bytes]]

# Samples gathered on the host before one copy to an accelerator: ~12 s of 44.1 kHz audio per transfer.
_DEVICE_CHUNK_SAMPLES = 1 << 19

_INT_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 9223372036854775808.0}


@dataclass(frozen=True)
class DecodedAudio:
    """A decoded recording: ``waveform`` is ``[channels, samples]`` float32 on the requested device."""

    waveform: torch.Tensor
    sample_rate: int
    source_channels: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def channels(self) -> int:
        return int(self.waveform.shape[0])

    @property
    def num_samples(self) -> int:
        return int(self.waveform.shape[-1])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate

    def to_dict(self) -> dict[str, Any]:
        """Metadata only (never the samples)."""
        return {
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "source_channels": self.source_channels,
            "duration": round(self.duration, 6),
            "device": str(self.waveform.device),
            "warnings": list(self.warnings),
        }


def decode_audio(
    source: AudioSource,
    *,
    device: "str | torch.device | None" = None,
    channel: int | None = None,
    mono: bool = False,
) -> DecodedAudio:
    """Decode the first audio stream of ``source`` (a path or a binary file object) to float32.

    ``channel`` keeps one channel (0-based); ``mono=True`` averages all channels; neither keeps every channel.
    A file that breaks off part-way (a truncated download) yields what decoded, with a warning.
    """
    import av

    if channel is not None and mono:
        raise ConfigurationError("choose either one channel or a mono downmix, not both")
    target = torch.device(device) if device is not None else torch.device("cpu")
    name = _describe(source)
    container = _open(source, name)
    try:
        stream = _first_audio_stream(container, name)
        stream.thread_type = "AUTO"
        source_channels = stream.codec_context.channels or 0
        _check_channel(channel, source_channels, name)
        collector = _Collector(target)
        warnings: list[str] = []
        sample_rate = stream.codec_context.sample_rate or 0
        try:
            for frame in container.decode(stream):
                if frame.sample_rate != sample_rate and collector.num_samples:
                    raise AudioDecodeError(f"{name}: the sample rate changes mid-stream; convert the file to a constant rate first")
                sample_rate = frame.sample_rate
                collector.add(_select(_frame_to_float(frame), channel, mono))
        except (av.error.FFmpegError, EOFError) as exc:
            if not collector.num_samples:
                raise AudioDecodeError(f"{name} cannot be decoded as audio ({_reason(exc)}); check that it is a valid audio file") from exc
            warnings.append(
                f"decoding stopped early at {collector.num_samples / sample_rate:.2f} s ({_reason(exc)}); "
                "the file looks truncated or damaged, so only the decoded part is used"
            )
        declared = _declared_duration(container, stream)
        missing_bytes = _missing_wav_bytes(source)
    finally:
        container.close()
    if not collector.num_samples or not sample_rate:
        raise EmptyAudioError(f"{name} contains no audio samples; record or export the session again")
    waveform = collector.finish(1 if (mono or channel is not None) else source_channels)
    decoded_seconds = waveform.shape[-1] / sample_rate
    if not warnings and (missing_bytes or (declared and declared - decoded_seconds > max(0.5, 0.01 * declared))):
        warnings.append(
            f"the file ends before its header says it should (only {decoded_seconds:.2f} s decoded); it looks truncated"
        )
    _check_finite(waveform, name)
    for message in warnings:
        logger.warning("%s: %s", name, message)
    return DecodedAudio(waveform=waveform, sample_rate=int(sample_rate), source_channels=source_channels, warnings=tuple(warnings))


class _Collector:
    """Gathers decoded frames; for an accelerator it ships chunks as they fill, so decode and copy overlap."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.num_samples = 0
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0
        self._shipped: list[torch.Tensor] = []

    def add(self, block: np.ndarray) -> None:
        self._pending.append(block)
        self._pending_samples += block.shape[-1]
        self.num_samples += block.shape[-1]
        if self.device.type != "cpu" and self._pending_samples >= _DEVICE_CHUNK_SAMPLES:
            self._ship()

    def _ship(self) -> None:
        host = torch.from_numpy(np.ascontiguousarray(np.concatenate(self._pending, axis=-1)))
        self._shipped.append(host.to(self.device, non_blocking=False))
        self._pending, self._pending_samples = [], 0

    def finish(self, channels: int) -> torch.Tensor:
        if self.device.type == "cpu":
            if not self._pending:
                return torch.zeros((channels, 0), dtype=torch.float32)
            return torch.from_numpy(np.ascontiguousarray(np.concatenate(self._pending, axis=-1), dtype=np.float32))
        if self._pending:
            self._ship()
        return torch.cat(self._shipped, dim=-1) if self._shipped else torch.zeros((channels, 0), device=self.device)


def _frame_to_float(frame: Any) -> np.ndarray:
    """One frame as a ``[channels, samples]`` float32 array, scaling integer PCM without rounding it."""
    fmt = frame.format
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if not fmt.is_planar:
        data = data.reshape(-1, channels).T
    base = fmt.name.rstrip("p")
    if base == "flt":
        return data
    if base == "dbl":
        return data.astype(np.float32)
    scale = _INT_SCALE.get(base)
    if scale is None:
        raise AudioDecodeError(f"unsupported sample format {fmt.name!r}")
    if base == "u8":
        return (data.astype(np.float32) - 128.0) / scale
    return (data / scale).astype(np.float32)


def _select(block: np.ndarray, channel: int | None, mono: bool) -> np.ndarray:
    if channel is not None:
        return block[channel : channel + 1]
    if mono and block.shape[0] > 1:
        return block.mean(axis=0, keepdims=True, dtype=np.float32)
    return block


def _open(source: AudioSource, name: str) -> Any:
    import av

    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputNotFoundError(f"{name} does not exist; check the path")
        if path.is_dir():
            raise AudioDecodeError(f"{name} is a directory, not an audio file")
        if not os.access(path, os.R_OK):
            raise InputPermissionError(f"{name} cannot be read; check its permissions")
        target: Any = str(path)
    else:
        target = source
    try:
        return av.open(target, mode="r", metadata_errors="ignore")
    except PermissionError as exc:
        raise InputPermissionError(f"{name} cannot be read; check its permissions") from exc
    except FileNotFoundError as exc:
        raise InputNotFoundError(f"{name} does not exist; check the path") from exc
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise AudioDecodeError(f"{name} is not a readable audio file ({_reason(exc)}); check the file or convert it to wav/mp3") from exc


def _first_audio_stream(container: Any, name: str) -> Any:
    if not container.streams.audio:
        kinds = sorted({s.type for s in container.streams}) or ["none"]
        raise NoAudioStreamError(f"{name} has no audio stream (streams: {', '.join(kinds)}); give a file with sound")
    return container.streams.audio[0]


def _check_channel(channel: int | None, source_channels: int, name: str) -> None:
    if channel is None:
        return
    if channel < 0 or (source_channels and channel >= source_channels):
        raise ConfigurationError(
            f"channel {channel} was requested but {name} has {source_channels} channel(s); use 0 to {source_channels - 1}"
        )


def _declared_duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _missing_wav_bytes(source: AudioSource) -> int:
    """Bytes a RIFF/WAVE file's data chunk declares beyond the end of the file (FFmpeg silently clamps them)."""
    if not isinstance(source, (str, os.PathLike)):
        return 0
    try:
        with open(source, "rb") as handle:
            head = handle.read(1 << 16)
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        return 0
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return 0
    offset = 12
    while offset + 8 <= len(head):
        chunk, length = head[offset : offset + 4], int.from_bytes(head[offset + 4 : offset + 8], "little")
        if chunk == b"data":
            # 0 and 0xFFFFFFFF are placeholders written by streaming recorders, not real sizes.
            if length in (0, 0xFFFFFFFF):
                return 0
            return max(0, offset + 8 + length - size)
        offset += 8 + length + (length & 1)
    return 0


def _check_finite(waveform: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(waveform).all()):
        raise InvalidAudioError(f"{name} contains NaN or infinite samples; re-export it as ordinary PCM audio")


def _describe(source: AudioSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return f"'{os.fspath(source)}'"
    label = getattr(source, "name", None)
    if isinstance(label, str):
        return f"'{label}'"
    return "the audio stream" if not isinstance(source, io.BytesIO) else "the in-memory audio"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


