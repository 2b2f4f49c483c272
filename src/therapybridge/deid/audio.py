"""The bleeped audio copy (``--deidentify-audio``): the recording with each finding's time span replaced by a tone.

The copy is mono Ogg Opus at 48 kHz, 48 kbps, written with PyAV atomically and mode 0600. Each finding's span is
widened by ``DeidOptions.bleep_pad`` on both sides (word times from Whisper are off by a tenth of a second or
two), and the original samples there are replaced, not mixed: nothing of the identifier stays under the tone.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import OutputError
from .model import DeidOptions, Finding

logger = logging.getLogger(__name__)

AUDIO_EXTENSION = "opus"
_RATE = 48000
_BIT_RATE = 48000


def bleep_spans(findings: Iterable[Finding], duration: float, pad: float) -> list[tuple[float, float]]:
    """The time spans to bleep: the findings' times widened by ``pad``, clipped to the recording, merged."""
    spans = sorted((max(0.0, f.start - pad), min(duration, f.end + pad)) for f in findings
                   if f.start is not None and f.end is not None)
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return merged


def bleeped(samples: np.ndarray, rate: int, spans: Sequence[tuple[float, float]], options: DeidOptions) -> np.ndarray:
    """A copy of mono ``samples`` with each span replaced by a ``bleep_hz`` tone (10 ms ramps, no clicks)."""
    out = np.array(samples, dtype=np.float32, copy=True)
    ramp = max(1, int(0.01 * rate))
    for start, end in spans:
        a, b = int(start * rate), min(len(out), int(np.ceil(end * rate)))
        if b <= a:
            continue
        t = np.arange(b - a, dtype=np.float64) / rate
        tone = options.bleep_level * np.sin(2 * np.pi * options.bleep_hz * t)
        edge = min(ramp, (b - a) // 2)
        if edge:
            envelope = np.ones(b - a)
            envelope[:edge] = np.linspace(0, 1, edge)
            envelope[-edge:] = np.linspace(1, 0, edge)
            tone *= envelope
        out[a:b] = tone.astype(np.float32)
    return out


def write_bleeped(source: str | os.PathLike[str], findings: Iterable[Finding], target: str | os.PathLike[str],
                  options: DeidOptions | None = None) -> Path:
    """Decode ``source`` (mono, 48 kHz), bleep every finding and write ``target`` as Opus; returns ``target``."""
    import torch

    from ..audio.decode import decode_audio
    from ..audio.ops import resample

    options = options or DeidOptions()
    decoded = decode_audio(source, mono=True)
    waveform = decoded.waveform
    if decoded.sample_rate != _RATE:
        waveform = resample(waveform, decoded.sample_rate, _RATE)
    samples = waveform[0].to(torch.float32).cpu().numpy()
    spans = bleep_spans(findings, len(samples) / _RATE, options.bleep_pad)
    _encode(bleeped(samples, _RATE, spans, options), Path(target))
    logger.debug("bleeped %d span(s) into the audio copy", len(spans))
    return Path(target)


def _encode(samples: np.ndarray, target: Path) -> None:
    import av

    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    os.close(fd)
    try:
        with av.open(temp, "w", format="ogg") as container:
            stream = container.add_stream("libopus", rate=_RATE)
            stream.layout = "mono"
            stream.bit_rate = _BIT_RATE
            frame_size = stream.codec_context.frame_size or 960
            for start in range(0, len(samples), frame_size):
                chunk = samples[start:start + frame_size]
                frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
                frame.sample_rate = _RATE
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
        os.chmod(temp, 0o600)
        os.replace(temp, target)
    except OSError as exc:
        _discard(temp)
        raise OutputError(f"cannot write the bleeped audio copy in {target.parent}: {exc.strerror or exc}") from exc
    except BaseException:
        _discard(temp)
        raise


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
