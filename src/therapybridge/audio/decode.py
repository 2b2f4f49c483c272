"""Decode any audio or video file with PyAV straight to float32, frame by frame, onto a torch device.

The decoder's own float output is used where it has one (mp3, aac, vorbis and opus decode to float), and
integer PCM is scaled to float directly, so there is never an int16 round trip. A mono downmix or a single
channel is taken per frame, which halves the memory a stereo recording needs. Decoding runs in a background
thread (PyAV releases the GIL), handing over chunks that the caller can process on another core meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from queue import Empty, Full, Queue
from typing import Any

import numpy as np
import torch

from ..errors import AudioDecodeError, ConfigurationError, EmptyAudioError, InvalidAudioError
from .container import AudioSource, describe, first_audio_stream, open_container, reason

logger = logging.getLogger(__name__)

# Decoded chunks waiting for the consumer: enough to ride out its pauses, little memory (8 x 3 s at 44.1 kHz).
_PREFETCH_CHUNKS = 8

_INT_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 9223372036854775808.0}


class SampledAudio:
    """Length helpers for results holding a ``waveform`` (samples on the last axis) and its ``sample_rate``."""

    waveform: torch.Tensor
    sample_rate: int

    @property
    def num_samples(self) -> int:
        return int(self.waveform.shape[-1])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate


@dataclass(frozen=True)
class DecodedAudio(SampledAudio):
    """A decoded recording: ``waveform`` is ``[channels, samples]`` float32 on the requested device."""

    waveform: torch.Tensor
    sample_rate: int
    source_channels: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def channels(self) -> int:
        return int(self.waveform.shape[0])

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
    target = torch.device(device) if device is not None else torch.device("cpu")
    stream = AudioStream(source, channel=channel, mono=mono)
    return DecodedAudio(
        waveform=read_all(stream, target),
        sample_rate=stream.sample_rate,
        source_channels=stream.source_channels,
        warnings=stream.warnings,
    )


def read_all(stream: "AudioStream", device: torch.device) -> torch.Tensor:
    """Every remaining sample of ``stream`` as one ``[rows, samples]`` tensor on ``device``."""
    sink = _SampleSink(stream.rows, device, stream.capacity_hint)
    for chunk in stream:
        sink.write(chunk)
    return sink.finish()


_END = object()


class AudioStream:
    """The decoded samples of a file as float32 chunks ``[rows, n]``, decoded ahead in a background thread.

    PyAV releases the GIL while it demuxes and decodes, so whatever the caller does with each chunk (resample,
    copy to a GPU) runs on a second core while the next chunk decodes. Opening checks the file (missing,
    unreadable, not media, no audio stream) and raises at once; iteration raises decoding errors, NaN/Inf
    samples and empty audio, and fills ``warnings`` (truncation) when it ends.
    """

    def __init__(
        self, source: AudioSource, *, channel: int | None = None, mono: bool = False, chunk_samples: int = 1 << 17
    ) -> None:
        if channel is not None and mono:
            raise ConfigurationError("choose either one channel or a mono downmix, not both")
        self.name = describe(source)
        self.channel = channel
        self.mono = mono
        self.chunk_samples = chunk_samples
        self.warnings: tuple[str, ...] = ()
        self.num_samples = 0
        self._source = source
        self._container = open_container(source, self.name)
        try:
            self._stream = first_audio_stream(self._container, self.name)
            self._stream.thread_type = "AUTO"
            self.source_channels = self._stream.codec_context.channels or 0
            _check_channel(channel, self.source_channels, self.name)
        except BaseException:
            self._container.close()
            raise
        self.sample_rate = self._stream.codec_context.sample_rate or 0
        self.rows = 1 if (mono or channel is not None) else max(self.source_channels, 1)
        self.capacity_hint = _capacity_hint(self._container, self._stream, self.sample_rate)
        self._declared: float | None = None
        self._stopped_early: str | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        queue: Queue[Any] = Queue(maxsize=_PREFETCH_CHUNKS)
        stop = threading.Event()
        worker = threading.Thread(target=self._produce, args=(queue, stop), name="therapybridge-decode", daemon=True)
        worker.start()
        try:
            while (item := queue.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                if not np.isfinite(item).all():
                    raise InvalidAudioError(
                        f"{self.name} contains NaN or infinite samples; re-export it as ordinary PCM audio"
                    )
                self.num_samples += item.shape[-1]
                yield item
        finally:
            stop.set()
            while worker.is_alive():  # unblock a producer waiting on a full queue
                with suppress(Empty):
                    queue.get_nowait()
                worker.join(timeout=0.01)
            self._container.close()
        self._finish()

    def _produce(self, queue: "Queue[Any]", stop: threading.Event) -> None:
        import av

        def emit(item: Any) -> bool:
            while not stop.is_set():
                with suppress(Full):
                    queue.put(item, timeout=0.1)
                    return True
            return False

        try:
            rate = self.sample_rate
            buffer = np.empty((self.rows, self.chunk_samples), dtype=np.float32)
            used = produced = 0
            scale = 1.0 / self.source_channels if self.mono and self.source_channels > 1 else None
            try:
                for frame in self._container.decode(self._stream):
                    if stop.is_set():
                        return
                    if frame.sample_rate != rate:
                        if produced or used:
                            raise AudioDecodeError(
                                f"{self.name}: the sample rate changes mid-stream; convert it to a constant rate first"
                            )
                        rate = self.sample_rate = frame.sample_rate
                    n = frame.samples
                    if used + n > buffer.shape[1]:
                        if not emit(_scaled(buffer[:, :used], scale)):
                            return
                        produced += used
                        buffer = np.empty((self.rows, max(self.chunk_samples, n)), dtype=np.float32)
                        used = 0
                    _place(buffer[:, used : used + n], _frame_planes(frame), self.channel, self.mono)
                    used += n
            except (av.error.FFmpegError, EOFError) as exc:
                if not (produced or used):
                    raise AudioDecodeError(
                        f"{self.name} cannot be decoded as audio ({reason(exc)}); check that it is a valid audio file"
                    ) from exc
                self._stopped_early = reason(exc)
            self._declared = _declared_duration(self._container, self._stream)
            if used and not emit(_scaled(buffer[:, :used], scale)):
                return
            emit(_END)
        except BaseException as exc:  # handed to the consumer, which re-raises it in its own thread
            emit(exc)

    def _finish(self) -> None:
        if not self.num_samples or not self.sample_rate:
            raise EmptyAudioError(f"{self.name} contains no audio samples; record or export the session again")
        decoded = self.num_samples / self.sample_rate
        warnings = []
        if self._stopped_early:
            warnings.append(
                f"decoding stopped early at {decoded:.2f} s ({self._stopped_early}); "
                "the file looks truncated or damaged, so only the decoded part is used"
            )
        elif _missing_wav_bytes(self._source) or self._shorter_than_declared(decoded):
            warnings.append(
                f"the file ends before its header says it should (only {decoded:.2f} s decoded); it looks truncated"
            )
        for message in warnings:
            logger.warning("%s: %s", self.name, message)
        self.warnings = tuple(warnings)

    def _shorter_than_declared(self, decoded: float) -> bool:
        return bool(self._declared) and self._declared - decoded > max(0.5, 0.01 * self._declared)


def _scaled(block: np.ndarray, scale: float | None) -> np.ndarray:
    if scale is not None:
        block *= scale  # the rows hold channel sums; one vectorised scale per chunk makes them means
    return block


def _place(window: np.ndarray, planes: list[np.ndarray], channel: int | None, mono: bool) -> None:
    """Write one frame's planes into ``window`` ([rows, n]): one chosen channel, the channel sum, or all."""
    if channel is not None:
        window[0] = planes[channel]
    elif mono:
        row = window[0]
        row[:] = planes[0]
        for plane in planes[1:]:
            row += plane
    else:
        for index, plane in enumerate(planes):
            window[index] = plane


class _SampleSink:
    """Collects chunks into one preallocated float32 buffer on the host, or ships them to an accelerator as
    they arrive so copies overlap decoding."""

    def __init__(self, rows: int, device: torch.device, capacity: int) -> None:
        self.device = device
        self.num_samples = 0
        self._on_host = device.type == "cpu"
        self._buffer = np.empty((rows, capacity if self._on_host else 0), dtype=np.float32)
        self._shipped: list[torch.Tensor] = []

    def write(self, block: np.ndarray) -> None:
        n = block.shape[-1]
        if not self._on_host:
            self._shipped.append(torch.from_numpy(block).to(self.device))
        else:
            if self.num_samples + n > self._buffer.shape[1]:
                size = max(2 * self._buffer.shape[1], self.num_samples + n)
                grown = np.empty((self._buffer.shape[0], size), dtype=np.float32)
                grown[:, : self.num_samples] = self._buffer[:, : self.num_samples]
                self._buffer = grown
            self._buffer[:, self.num_samples : self.num_samples + n] = block
        self.num_samples += n

    def finish(self) -> torch.Tensor:
        if self._on_host:
            return torch.from_numpy(np.ascontiguousarray(self._buffer[:, : self.num_samples]))
        if not self._shipped:
            return torch.zeros((self._buffer.shape[0], 0), device=self.device)
        return torch.cat(self._shipped, dim=-1)


def _capacity_hint(container: Any, stream: Any, sample_rate: int) -> int:
    """Samples to preallocate: the declared length plus a little, within sane bounds (headers can lie)."""
    rate = max(sample_rate, 8000)
    declared = _declared_duration(container, stream) or 60.0
    return int(min(max(declared, 1.0), 3 * 3600.0) * 1.01 * rate) + rate


def _frame_planes(frame: Any) -> list[np.ndarray]:
    """One frame as one float32 array per channel; planar float (what mp3/aac/vorbis decoders give) is read in
    place from the frame's buffers, other formats are converted."""
    n = frame.samples
    name = frame.format.name
    if name == "fltp":
        return [np.frombuffer(plane, dtype=np.float32, count=n) for plane in frame.planes]
    if name == "flt":
        channels = len(frame.layout.channels)
        return list(np.frombuffer(frame.planes[0], dtype=np.float32, count=n * channels).reshape(n, channels).T)
    return list(_frame_to_float(frame))


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


def _check_channel(channel: int | None, source_channels: int, name: str) -> None:
    if channel is None:
        return
    if channel < 0 or (source_channels and channel >= source_channels):
        raise ConfigurationError(
            f"channel {channel} was requested but {name} has {source_channels} channel(s); "
            f"use 0 to {source_channels - 1}"
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
