"""The preprocessing chain: decode → downmix → 16 kHz → find speech → cut silence → normalize, with a TimeMap.

Every step is timed under ``profiler.subprocess(<step>)`` and the result records what each step did (never any
audio content) for the performance report. On an accelerator the samples go to the device as they decode and
every step runs there as torch operations; on the CPU, resampling (soxr) and the level measurements that silence
detection and loudness need run chunk by chunk on a second core while the decoder thread works ahead, which
keeps the whole chain close to the cost of decoding alone.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from ..device import resolve_device
from ..errors import OutputError
from ..perf.hooks import NULL_PROFILER, StageProfiler
from . import ops
from .container import AudioSource
from .decode import AudioStream, SampledAudio, read_all
from .options import PreprocessOptions
from .timemap import TimeMap

logger = logging.getLogger(__name__)

STEP_NAMES = ("load_audio", "downmix", "sample_rate_conversion", "silence_detection", "trim", "normalization")
# Shorter than this there is nothing a recogniser could use.
_MIN_USEFUL_SECONDS = 0.1


@dataclass(frozen=True)
class PreprocessStep:
    """What one step did and how long it took (seconds), for the performance logger; never audio content."""

    name: str
    seconds: float
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": round(self.seconds, 6), **self.metadata}


@dataclass(frozen=True)
class PreparedAudio(SampledAudio):
    """Audio ready for recognition: mono ``waveform`` (1-D float32 on the device) at ``sample_rate``, and the
    ``time_map`` that takes its times back to the original recording's clock."""

    waveform: torch.Tensor
    sample_rate: int
    time_map: TimeMap
    steps: tuple[PreprocessStep, ...]
    original_duration: float
    warnings: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing is left to transcribe (a silent or near-empty recording)."""
        return self.duration < _MIN_USEFUL_SECONDS

    def numpy(self) -> np.ndarray:
        """The waveform as a contiguous float32 NumPy array in host memory (what faster-whisper takes)."""
        return np.ascontiguousarray(self.waveform.detach().to("cpu", torch.float32).numpy())

    def step(self, name: str) -> PreprocessStep | None:
        return next((s for s in self.steps if s.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """Metadata only: durations, steps, warnings and the time map (never the samples)."""
        return {
            "sample_rate": self.sample_rate,
            "duration": round(self.duration, 6),
            "original_duration": round(self.original_duration, 6),
            "device": str(self.waveform.device),
            "steps": [s.to_dict() for s in self.steps],
            "warnings": list(self.warnings),
            "time_map": self.time_map.to_dict(),
        }


def preprocess(
    source: AudioSource,
    options: "PreprocessOptions | Mapping[str, Any] | None" = None,
    *,
    device: "str | torch.device" = "auto",
    profiler: StageProfiler = NULL_PROFILER,
) -> PreparedAudio:
    """Decode ``source`` and prepare it for recognition (see :class:`PreprocessOptions`).

    A silent recording is not an error: the result is empty and carries a warning.
    """
    opts = PreprocessOptions.coerce(options)
    target = device if isinstance(device, torch.device) else resolve_device(device)
    steps = _StepRecorder(profiler, target)
    warnings: list[str] = []  # this chain's own; the decoder logs its warnings itself

    method = ops.resample_method_for(target) if opts.resample_method == "auto" else opts.resample_method
    with steps.run("load_audio", device=str(target)) as meta:
        stream = AudioStream(source, channel=opts.channel, mono=opts.channel is None)
        # On the CPU, resampling and level measurement run chunk by chunk on a second core while the decoder
        # thread works on the next chunk; elsewhere the samples go to the device and the steps run there.
        streamable = target.type == "cpu" and method == "soxr" and stream.sample_rate > 0
        front = _StreamingFront(stream.sample_rate, opts.target_sample_rate, stream.capacity_hint) if streamable else None
        if front is not None:
            for chunk in stream:
                if front.source_rate != stream.sample_rate:  # e.g. HE-AAC: the first frame corrects the header
                    front = _StreamingFront(stream.sample_rate, opts.target_sample_rate, stream.capacity_hint)
                front.feed(chunk[0])
        else:
            decoded = read_all(stream, target)
        meta.update(
            sample_rate=stream.sample_rate,
            channels=stream.source_channels,
            duration=round(stream.num_samples / stream.sample_rate, 3),
            streamed=front is not None,
        )
    decoder_warnings = stream.warnings
    original_rate, original_samples = stream.sample_rate, stream.num_samples
    original_duration = original_samples / original_rate
    rate = opts.target_sample_rate

    with steps.run("downmix", channels=stream.source_channels) as meta:
        # The decoder already averaged (or picked) channels frame by frame; this only drops the channel axis.
        mono = None if front is not None else ops.to_mono(decoded)
        meta.update(mode="mean" if opts.channel is None else f"channel {opts.channel}", in_decoder=True)
    decoded = None

    with steps.run("sample_rate_conversion", from_hz=original_rate, to_hz=rate) as meta:
        levels: ops.SignalLevels | None = None
        if front is not None:
            audio, levels = front.finish()
            meta.update(streamed=True, overlapped_seconds=round(front.resample_seconds, 4))
        else:
            audio = ops.resample(mono, original_rate, rate, method=method)
            meta.update(streamed=False)
        meta.update(method=method if original_rate != rate else "none")
    mono = None

    speech = _detect(audio, rate, levels, opts, steps, overlapped=front.level_seconds if front is not None else None)
    spans = _plan(speech, audio.shape[-1], rate, opts)
    with steps.run("trim", spans=len(spans)) as meta:
        # The streamed path measured everything it needs already, so the cut may reuse the audio's memory.
        trimmed = ops.cut(audio, spans, in_place=levels is not None)
        meta.update(removed_seconds=round((audio.shape[-1] - trimmed.shape[-1]) / rate, 3))
    time_map = TimeMap.from_samples(spans, rate, audio.shape[-1])

    trimmed = _normalize(trimmed, audio, rate, levels, opts, steps)
    del audio
    warnings.extend(_content_warnings(original_duration, speech, opts))
    for message in warnings:
        logger.warning("%s", message)
    return PreparedAudio(
        waveform=trimmed,
        sample_rate=rate,
        time_map=time_map,
        steps=steps.finished(),
        original_duration=original_duration,
        warnings=(*decoder_warnings, *warnings),
    )


class _StreamingFront:
    """Resamples (soxr) and measures levels chunk by chunk while the file decodes (the CPU path)."""

    def __init__(self, source_rate: int, target_rate: int, source_capacity: int) -> None:
        self.source_rate = source_rate
        self._resampler = (
            ops.StreamResampler(source_rate, target_rate, capacity=source_capacity * target_rate // source_rate + 1024)
            if source_rate != target_rate
            else None
        )
        self._meter = ops.LevelMeter(target_rate)
        self._same_rate = ops.GrowingBuffer(source_capacity + 1024) if self._resampler is None else None

    def feed(self, chunk: np.ndarray) -> None:
        if self._resampler is not None:
            chunk = self._resampler.feed(chunk)
        else:
            chunk = self._same_rate.append(chunk)
        self._meter.feed(chunk)

    def finish(self) -> tuple[torch.Tensor, ops.SignalLevels]:
        if self._resampler is not None:
            self._meter.feed(self._resampler.flush())
            audio = self._resampler.finish()
        else:
            audio = self._same_rate.tensor()
        return audio, self._meter.finish()

    @property
    def resample_seconds(self) -> float:
        return self._resampler.busy_seconds if self._resampler is not None else 0.0

    @property
    def level_seconds(self) -> float:
        return self._meter.busy_seconds


def _detect(
    audio: torch.Tensor,
    rate: int,
    levels: "ops.SignalLevels | None",
    opts: PreprocessOptions,
    steps: "_StepRecorder",
    *,
    overlapped: float | None,
) -> tuple[tuple[int, int], ...]:
    with steps.run("silence_detection", vad=opts.vad) as meta:
        if opts.vad == "silero":
            speech = ops.silero_speech(audio, rate)
        else:
            frame_length = ops.frame_length_for(rate)
            frame_levels = levels.frame_db if levels is not None else ops.frame_db(audio, frame_length)
            analysis = ops.speech_from_levels(
                frame_levels,
                frame_length,
                audio.shape[-1],
                threshold_db=opts.silence_threshold_db,
                noise_margin_db=opts.noise_margin_db,
                floor_db=opts.silence_floor_db,
            )
            speech = analysis.speech
            meta.update(
                reference_db=round(analysis.reference_db, 2),
                noise_db=round(analysis.noise_db, 2),
                threshold_db=round(analysis.threshold_db, 2),
            )
        if overlapped is not None:
            meta.update(levels_measured_while_decoding=True, overlapped_seconds=round(overlapped, 4))
        meta.update(speech_runs=len(speech), speech_seconds=round(sum(e - s for s, e in speech) / rate, 3))
    return speech


def _plan(
    speech: tuple[tuple[int, int], ...], num_samples: int, rate: int, opts: PreprocessOptions
) -> list[tuple[int, int]]:
    if not (opts.trim_silence or opts.shorten_pauses):
        return [(0, num_samples)] if num_samples else []
    if not speech and not opts.trim_silence:
        return [(0, num_samples)] if num_samples else []
    return ops.plan_kept_spans(
        speech,
        num_samples,
        edge_pad=round(opts.speech_pad * rate),
        max_pause=round(opts.max_pause * rate) if opts.shorten_pauses else None,
        trim_edges=opts.trim_silence,
        grid=ops.frame_length_for(rate),  # removed stretches are whole 20 ms frames: see ops.plan_kept_spans
    )


def _normalize(
    trimmed: torch.Tensor,
    full: torch.Tensor,
    rate: int,
    levels: "ops.SignalLevels | None",
    opts: PreprocessOptions,
    steps: "_StepRecorder",
) -> torch.Tensor:
    """Scale the kept audio. Loudness is measured on the whole recording (BS.1770 gating ignores the pauses
    anyway), so the CPU path can measure it while decoding and every device measures the same thing."""
    with steps.run("normalization", mode=opts.normalize or "none") as meta:
        if opts.normalize == "peak":
            trimmed, gain = ops.peak_normalize(trimmed, opts.target_peak_dbfs)
            meta.update(gain_db=round(gain, 2))
        elif opts.normalize == "loudness":
            measured = levels.loudness_lufs if levels is not None else ops.integrated_loudness(full, rate)
            peak = levels.peak_dbfs if levels is not None else ops.peak_db(full)
            gain = ops.loudness_gain_db(measured, peak, opts.target_lufs, opts.target_peak_dbfs)
            if gain:
                # In place: ``trimmed`` is this chain's own tensor (a fresh cut, or the resampled audio itself).
                trimmed = trimmed.mul_(10.0 ** (gain / 20.0))
            meta.update(measured_lufs=round(measured, 2) if math.isfinite(measured) else None, gain_db=round(gain, 2))
            # Peak-limited gain is expected for recordings with sharp transients; recognition does not need the
            # exact target, so this is reported in the step's metadata rather than as a warning.
            meta.update(peak_limited=math.isfinite(measured) and gain < opts.target_lufs - measured - 0.05)
    return trimmed


def _content_warnings(
    original_duration: float, speech: tuple[tuple[int, int], ...], opts: PreprocessOptions
) -> list[str]:
    if original_duration < _MIN_USEFUL_SECONDS:
        return [f"the recording is only {original_duration * 1000:.1f} ms long; there is nothing to transcribe"]
    if not speech:
        consequence = "nothing is left to transcribe" if opts.trim_silence else "expect an empty transcript"
        return [f"no speech was found: the recording is silent or nearly so; {consequence}"]
    return []


class _StepRecorder:
    """Times each step under the profiler (synchronising an accelerator so times are real) and keeps its metadata."""

    def __init__(self, profiler: StageProfiler, device: torch.device) -> None:
        self._profiler = profiler
        self._device = device
        self._steps: list[PreprocessStep] = []

    @contextmanager
    def run(self, name: str, **metadata: Any) -> Iterator[dict[str, Any]]:
        details: dict[str, Any] = dict(metadata)
        with self._profiler.subprocess(name, **metadata) as span:
            started = time.perf_counter()
            yield details
            _synchronize(self._device)
            elapsed = time.perf_counter() - started
            # Profilers whose spans take late metadata (PerformanceLogger's SpanHandle.set) get what the step found.
            late = {k: v for k, v in details.items() if k not in metadata}
            if late and callable(getattr(span, "set", None)):
                span.set(**late)
        self._steps.append(PreprocessStep(name, elapsed, details))

    def finished(self) -> tuple[PreprocessStep, ...]:
        return tuple(self._steps)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def save_prepared(prepared: PreparedAudio, path: "str | os.PathLike[str]") -> tuple[Path, Path]:
    """Write the prepared audio as a 32-bit float mono WAV and its time map as ``<stem>.timemap.json`` beside it.

    Returns ``(wav_path, timemap_path)``. Both files are written to temporary names and renamed into place.
    """
    import json

    wav_path = Path(path)
    map_path = wav_path.with_name(f"{wav_path.stem}.timemap.json")
    try:
        wav_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(wav_path, lambda tmp: _write_wav(tmp, prepared.numpy(), prepared.sample_rate))
        payload = json.dumps(prepared.time_map.to_dict(), indent=2)
        _atomic_write(map_path, lambda tmp: tmp.write_text(payload + "\n", encoding="utf-8"))
    except OSError as exc:
        raise OutputError(f"cannot write {wav_path}: {exc.strerror or exc}; check the folder and free space") from exc
    return wav_path, map_path


def _atomic_write(target: Path, write: Any) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    import av

    with av.open(str(path), mode="w", format="wav") as container:
        stream = container.add_stream("pcm_f32le", rate=rate, layout="mono")
        if samples.size:
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
