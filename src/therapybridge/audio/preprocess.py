"""The preprocessing chain: decode → downmix → 16 kHz → find speech → cut silence → normalize, with a TimeMap.

Every step runs on the chosen torch device and is timed under ``profiler.subprocess(<step>)``; the result
records what each step did (never any audio content) for the performance report.
"""

from __future__ import annotations

import dataclasses
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
from ..errors import ConfigurationError, OutputError
from ..perf.hooks import NULL_PROFILER, StageProfiler
from . import ops
from .decode import AudioSource, decode_audio
from .timemap import TimeMap

logger = logging.getLogger(__name__)

VAD_CHOICES = ("energy", "silero")
NORMALIZE_CHOICES = ("loudness", "peak", None)
STEP_NAMES = ("load_audio", "downmix", "sample_rate_conversion", "silence_detection", "trim", "normalization")
# Shorter than this there is nothing a recogniser could use.
_MIN_USEFUL_SECONDS = 0.1


@dataclass(frozen=True)
class PreprocessOptions:
    """How to prepare a recording for recognition and diarization.

    Speech is what is louder than a threshold that follows the recording: ``silence_threshold_db`` below its
    loud-speech level (the 95th percentile of 20 ms frame levels) and at least ``noise_margin_db`` above its
    noise floor (the 10th percentile); ``silence_floor_db`` is an absolute dBFS floor below which nothing is speech.
    ``max_pause`` seconds are kept of every longer pause; ``speech_pad`` seconds are kept before the first and
    after the last speech when ``trim_silence`` is on.
    """

    target_sample_rate: int = 16000
    channel: int | None = None
    trim_silence: bool = True
    shorten_pauses: bool = True
    max_pause: float = 2.0
    speech_pad: float = 0.3
    silence_threshold_db: float = -35.0
    noise_margin_db: float = 6.0
    silence_floor_db: float = -65.0
    vad: str = "energy"
    normalize: str | None = "loudness"
    target_lufs: float = -23.0
    target_peak_dbfs: float = -1.0
    resample_method: str = "auto"

    def __post_init__(self) -> None:
        if not 1000 <= int(self.target_sample_rate) <= 384000:
            raise ConfigurationError(f"target_sample_rate must be between 1000 and 384000 Hz, got {self.target_sample_rate}")
        if self.channel is not None and int(self.channel) < 0:
            raise ConfigurationError("channel must be a 0-based index or None for a mono downmix")
        if not self.max_pause > 0:
            raise ConfigurationError(f"max_pause must be positive seconds, got {self.max_pause}")
        if self.speech_pad < 0:
            raise ConfigurationError(f"speech_pad must not be negative, got {self.speech_pad}")
        if self.vad not in VAD_CHOICES:
            raise ConfigurationError(f"unknown vad {self.vad!r}; choose one of {', '.join(VAD_CHOICES)}")
        if self.normalize not in NORMALIZE_CHOICES:
            raise ConfigurationError(f"unknown normalize {self.normalize!r}; choose loudness, peak or none")
        if self.resample_method not in ops.RESAMPLE_METHODS:
            raise ConfigurationError(f"unknown resample_method {self.resample_method!r}; choose one of {', '.join(ops.RESAMPLE_METHODS)}")
        if self.target_peak_dbfs > 0:
            raise ConfigurationError("target_peak_dbfs must be at most 0 dBFS")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PreprocessOptions":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigurationError(f"unknown audio option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        if isinstance(values.get("normalize"), str) and values["normalize"].lower() in ("none", "off", ""):
            values["normalize"] = None
        return cls(**values)

    @classmethod
    def coerce(cls, options: "PreprocessOptions | Mapping[str, Any] | None") -> "PreprocessOptions":
        if options is None:
            return cls()
        if isinstance(options, cls):
            return options
        if isinstance(options, Mapping):
            return cls.from_dict(options)
        raise ConfigurationError(f"audio options must be PreprocessOptions or a dict, not {type(options).__name__}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


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
class PreparedAudio:
    """Audio ready for recognition: mono ``waveform`` (1-D float32 on the device) at ``sample_rate``, and the
    ``time_map`` that takes its times back to the original recording's clock."""

    waveform: torch.Tensor
    sample_rate: int
    time_map: TimeMap
    steps: tuple[PreprocessStep, ...]
    original_duration: float
    warnings: tuple[str, ...] = ()

    @property
    def num_samples(self) -> int:
        return int(self.waveform.shape[-1])

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate

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

    with steps.run("load_audio", device=str(target)) as meta:
        decoded = decode_audio(source, device=target, channel=opts.channel, mono=opts.channel is None)
        meta.update(sample_rate=decoded.sample_rate, channels=decoded.source_channels, duration=round(decoded.duration, 3))
    decoder_warnings = decoded.warnings
    original_rate, original_samples = decoded.sample_rate, decoded.num_samples

    with steps.run("downmix", channels=decoded.source_channels) as meta:
        # The decoder already averaged (or picked) channels frame by frame; this only drops the channel axis.
        mono = ops.to_mono(decoded.waveform)
        meta.update(mode="mean" if opts.channel is None else f"channel {opts.channel}", in_decoder=True)
    del decoded

    method = ops.resample_method_for(target) if opts.resample_method == "auto" else opts.resample_method
    with steps.run("sample_rate_conversion", from_hz=original_rate, to_hz=opts.target_sample_rate) as meta:
        audio = ops.resample(mono, original_rate, opts.target_sample_rate, method=method)
        meta.update(method=method if original_rate != opts.target_sample_rate else "none")
    del mono
    rate = opts.target_sample_rate
    original_duration = original_samples / original_rate

    speech = _detect(audio, rate, opts, steps)
    spans = _plan(speech, audio.shape[-1], rate, opts)
    with steps.run("trim", spans=len(spans)) as meta:
        trimmed = ops.cut(audio, spans)
        meta.update(removed_seconds=round((audio.shape[-1] - trimmed.shape[-1]) / rate, 3))
    time_map = TimeMap.from_samples(spans, rate, audio.shape[-1]) if speech or opts.trim_silence else TimeMap.identity(audio.shape[-1] / rate)
    del audio

    trimmed = _normalize(trimmed, rate, opts, steps)
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


def _detect(audio: torch.Tensor, rate: int, opts: PreprocessOptions, steps: "_StepRecorder") -> tuple[tuple[int, int], ...]:
    with steps.run("silence_detection", vad=opts.vad) as meta:
        if opts.vad == "silero":
            speech = ops.silero_speech(audio, rate)
        else:
            analysis = ops.detect_speech(
                audio,
                rate,
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
        meta.update(speech_runs=len(speech), speech_seconds=round(sum(e - s for s, e in speech) / rate, 3))
    return speech


def _plan(speech: tuple[tuple[int, int], ...], num_samples: int, rate: int, opts: PreprocessOptions) -> list[tuple[int, int]]:
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
    )


def _normalize(audio: torch.Tensor, rate: int, opts: PreprocessOptions, steps: "_StepRecorder") -> torch.Tensor:
    with steps.run("normalization", mode=opts.normalize or "none") as meta:
        if opts.normalize == "peak":
            audio, gain = ops.peak_normalize(audio, opts.target_peak_dbfs)
            meta.update(gain_db=round(gain, 2))
        elif opts.normalize == "loudness":
            audio, measured, gain = ops.loudness_normalize(
                audio, rate, opts.target_lufs, peak_ceiling_dbfs=opts.target_peak_dbfs
            )
            meta.update(measured_lufs=round(measured, 2) if math.isfinite(measured) else None, gain_db=round(gain, 2))
            # Peak-limited gain is expected for recordings with sharp transients; recognition does not need the
            # exact target, so this is reported in the step's metadata rather than as a warning.
            meta.update(peak_limited=math.isfinite(measured) and gain < opts.target_lufs - measured - 0.05)
    return audio


def _content_warnings(original_duration: float, speech: tuple[tuple[int, int], ...], opts: PreprocessOptions) -> list[str]:
    if original_duration < _MIN_USEFUL_SECONDS:
        return [f"the recording is only {original_duration * 1000:.1f} ms long; there is nothing to transcribe"]
    if not speech:
        return ["no speech was found: the recording is silent or nearly so, so the transcript will be empty"]
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
