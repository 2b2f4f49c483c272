"""Where live audio comes from: a file (optionally at its own pace), stdin (a container or raw PCM), a microphone.

Every source yields float32 mono 16 kHz pieces of about ``BLOCK_SECONDS``; decoding errors surface from the
iteration as the project's typed errors.
"""

from __future__ import annotations

import logging
import os
import queue
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import numpy as np

from ..audio.signal import SAMPLE_RATE
from ..errors import DependencyError, InputError, InvalidAudioError

logger = logging.getLogger(__name__)

BLOCK_SECONDS = 0.1
RAW_FORMATS = {"s16le": ("<i2", 1.0 / 32768.0), "f32le": ("<f4", None)}


def decoded_blocks(source: "str | os.PathLike[str] | IO[bytes]") -> Iterator[np.ndarray]:
    """Any container the project decodes (a path or a binary stream such as stdin), as 16 kHz mono pieces."""
    from ..audio.decode import AudioStream
    from ..audio.ops import StreamResampler

    stream = AudioStream(source, mono=True, chunk_samples=4096)
    resampler = None
    for chunk in stream:
        if resampler is None and stream.sample_rate != SAMPLE_RATE:
            resampler = StreamResampler(stream.sample_rate, SAMPLE_RATE, keep=False)
        piece = chunk[0] if resampler is None else resampler.feed(chunk[0]).copy()
        if len(piece):
            yield piece
    if resampler is not None:
        tail = resampler.flush().copy()
        if len(tail):
            yield tail


def raw_blocks(stream: IO[bytes], fmt: str) -> Iterator[np.ndarray]:
    """Raw 16 kHz mono PCM (``s16le`` or ``f32le``) from a binary stream, read as it arrives."""
    if fmt not in RAW_FORMATS:
        raise InputError(f"unknown raw format {fmt!r}; choose s16le or f32le")
    dtype, scale = RAW_FORMATS[fmt]
    width = np.dtype(dtype).itemsize
    want = int(BLOCK_SECONDS * SAMPLE_RATE) * width
    left = b""
    read = getattr(stream, "read1", stream.read)
    while True:
        data = read(want)
        if not data:
            break
        data = left + data
        usable = len(data) - len(data) % width
        left = data[usable:]
        if not usable:
            continue
        samples = np.frombuffer(data[:usable], dtype=dtype).astype(np.float32)
        if scale is not None:
            samples *= scale
        elif not np.isfinite(samples).all():
            raise InvalidAudioError("the raw f32le stream holds NaN or infinite samples; is it really f32le?")
        yield samples
    if left:
        logger.warning("the raw stream ended inside a sample (%d stray byte(s) ignored)", len(left))


def microphone_blocks(device: "int | str | None" = None, stop: "Callable[[], bool] | None" = None) -> Iterator[np.ndarray]:
    """The default (or the given) input device through PortAudio, until ``stop()`` says so or Ctrl-C."""
    sd = _sounddevice()
    try:
        sd.check_input_settings(device=device, channels=1, samplerate=SAMPLE_RATE, dtype="float32")
    except Exception as exc:  # noqa: BLE001 - PortAudio reports a missing device in several ways
        raise InputError(f"no usable microphone ({_first_line(exc)}); connect one or use --input FILE") from exc
    pieces: "queue.Queue[np.ndarray]" = queue.Queue()

    def callback(indata: np.ndarray, frames: int, timing: Any, status: Any) -> None:
        if status:
            logger.warning("microphone: %s", status)
        pieces.put(indata[:, 0].copy())

    with sd.InputStream(device=device, channels=1, samplerate=SAMPLE_RATE, dtype="float32",
                        blocksize=int(BLOCK_SECONDS * SAMPLE_RATE), callback=callback):
        while stop is None or not stop():
            try:
                yield pieces.get(timeout=0.5)
            except queue.Empty:
                continue


def _sounddevice() -> Any:
    try:
        import sounddevice
    except ImportError as exc:
        raise DependencyError(
            "--input mic needs the sounddevice package: pip install 'therapybridge[live]'"
        ) from exc
    except OSError as exc:  # the package is there but the PortAudio library is not
        raise DependencyError(
            f"--input mic needs the PortAudio library ({_first_line(exc)}): apt-get install libportaudio2"
        ) from exc
    return sounddevice


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def paced(blocks: Iterable[np.ndarray], *, clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[np.ndarray]:
    """``blocks`` at the pace of the audio they hold: each piece no sooner than its last sample would be heard."""
    start = clock()
    heard = 0
    for block in blocks:
        heard += len(block)
        wait = start + heard / SAMPLE_RATE - clock()
        if wait > 0:
            sleep(wait)
        yield block
