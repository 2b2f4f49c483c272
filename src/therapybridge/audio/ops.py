"""Device-agnostic signal operations on torch tensors: downmix, resample, silence detection, trimming, normalization.

Every function takes and returns tensors on the caller's device. Where the fastest correct method differs per
device (resampling, the loudness filter), both methods are always available and the tests hold them to each other.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from ..errors import ConfigurationError, DependencyError
from .options import RESAMPLE_METHODS
from .signal import check_channels_first
from .signal import resample as resample_array
from .signal import true_runs

logger = logging.getLogger(__name__)

# julius settings chosen by measurement: ≥ 65 dB SNR against soxr HQ on a 50 Hz–7 kHz sweep, 44.1 → 16 kHz.
_JULIUS_ZEROS = 32
_JULIUS_ROLLOFF = 0.96
_SILENT_DB = -120.0

# ITU-R BS.1770-4 K-weighting: a high shelf (head effects) followed by a high-pass (RLB curve).
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_SHELF_HZ = 1681.974450955533
_HIGHPASS_Q = 0.5003270373238773
_HIGHPASS_HZ = 38.13547087602444
_LUFS_OFFSET = -0.691
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0
# The K-filter's impulse response has decayed below -100 dB by this time at any sample rate ≥ 8 kHz.
_KFILTER_IR_SECONDS = 0.05


# ---------------------------------------------------------------- channels


def to_mono(waveform: torch.Tensor, channel: int | None = None) -> torch.Tensor:
    """``[channels, samples]`` (or already 1-D) → ``[samples]``: the mean over channels, or one channel.

    Channels first, as everywhere (:func:`.signal.check_channels_first`): other layouts are an ``InvalidAudioError``.
    """
    check_channels_first(tuple(waveform.shape))
    if waveform.dim() == 1:
        return waveform
    if channel is not None:
        if not 0 <= channel < waveform.shape[0]:
            raise ConfigurationError(f"channel {channel} does not exist; the audio has {waveform.shape[0]} channel(s)")
        return waveform[channel]
    if waveform.shape[0] == 1:
        return waveform[0]
    return waveform.mean(dim=0)


# ---------------------------------------------------------------- sample rate


def resample(waveform: torch.Tensor, orig_rate: int, new_rate: int, *, method: str = "auto") -> torch.Tensor:
    """Change the sample rate of ``[..., samples]`` audio without shifting it in time.

    ``auto`` picks soxr (HQ) for tensors on the CPU and julius' sinc filter on accelerators; ``soxr`` on an
    accelerator copies through host memory.
    """
    if method not in RESAMPLE_METHODS:
        raise ConfigurationError(f"unknown resampling method {method!r}; choose one of {', '.join(RESAMPLE_METHODS)}")
    if orig_rate == new_rate:
        return waveform
    if orig_rate <= 0 or new_rate <= 0:
        raise ConfigurationError(f"sample rates must be positive, got {orig_rate} → {new_rate}")
    chosen = resample_method_for(waveform.device) if method == "auto" else method
    if chosen == "soxr":
        return _resample_soxr(waveform, orig_rate, new_rate)
    return _resample_julius(waveform, orig_rate, new_rate)


def resample_method_for(device: torch.device) -> str:
    return "soxr" if device.type == "cpu" else "julius"


class GrowingBuffer:
    """A float32 array that chunks are appended to in place, doubling only when ``capacity`` was too small, so a
    streamed recording is never held twice (as pieces and as their concatenation)."""

    def __init__(self, capacity: int = 1 << 20) -> None:
        self._data = np.empty(max(int(capacity), 1), dtype=np.float32)
        self._used = 0

    def append(self, chunk: np.ndarray) -> np.ndarray:
        """Copy ``chunk`` in; returns the view of the buffer that now holds it."""
        end = self._used + chunk.size
        if end > self._data.size:
            grown = np.empty(max(2 * self._data.size, end), dtype=np.float32)
            grown[: self._used] = self._data[: self._used]
            self._data = grown
        self._data[self._used : end] = chunk
        view = self._data[self._used : end]
        self._used = end
        return view

    def tensor(self) -> torch.Tensor:
        """Everything appended, as a 1-D CPU tensor sharing the buffer's memory."""
        return torch.from_numpy(self._data[: self._used])


class StreamResampler:
    """soxr resampling fed chunk by chunk as a file decodes; the output equals one-shot :func:`resample` with
    ``method="soxr"`` exactly. Output goes straight into one growing buffer (``capacity`` samples to start), so
    nothing is left to concatenate at the end. ``busy_seconds`` is the wall time it took (overlapped with decoding).
    With ``keep=False`` nothing is kept (a live stream of any length in flat memory): ``feed`` returns each piece and
    ``finish`` is unavailable."""

    def __init__(self, orig_rate: int, new_rate: int, *, capacity: int = 1 << 20, keep: bool = True) -> None:
        import soxr

        self._stream = soxr.ResampleStream(orig_rate, new_rate, 1, dtype="float32", quality="HQ")
        self._out = GrowingBuffer(capacity) if keep else None
        self._flushed = False
        self.busy_seconds = 0.0

    def feed(self, chunk: np.ndarray, *, last: bool = False) -> np.ndarray:
        """Resample one more chunk; returns (a view of) the output it produced."""
        started = time.perf_counter()
        piece = self._stream.resample_chunk(np.ascontiguousarray(chunk, dtype=np.float32), last=last)
        view = self._out.append(piece) if self._out is not None else piece
        self.busy_seconds += time.perf_counter() - started
        return view

    def flush(self) -> np.ndarray:
        """The filter's tail after the last chunk."""
        self._flushed = True
        return self.feed(np.zeros(0, dtype=np.float32), last=True)

    def finish(self) -> torch.Tensor:
        """Everything produced, as a 1-D CPU tensor (flushing first if needed)."""
        if self._out is None:
            raise ConfigurationError("this StreamResampler keeps nothing (keep=False); use what feed() returned")
        if not self._flushed:
            self.flush()
        return self._out.tensor()


def _resample_soxr(waveform: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    if waveform.shape[-1] == 0:
        return waveform.new_zeros((*waveform.shape[:-1], 0))
    host = waveform.detach().to("cpu", torch.float32).numpy()
    return torch.from_numpy(resample_array(host, orig_rate, new_rate)).to(waveform.device)


def _resample_julius(waveform: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    import julius

    if waveform.shape[-1] == 0:
        return waveform.new_zeros((*waveform.shape[:-1], 0))
    gcd = math.gcd(orig_rate, new_rate)
    return julius.resample_frac(
        waveform, orig_rate // gcd, new_rate // gcd, zeros=_JULIUS_ZEROS, rolloff=_JULIUS_ROLLOFF
    )


# ---------------------------------------------------------------- silence


_LEVEL_BLOCK_FRAMES = 1 << 15  # frames squared at a time by frame_db (about 11 minutes of 20 ms frames)


def frame_db(waveform: torch.Tensor, frame_length: int) -> torch.Tensor:
    """RMS level in dBFS of consecutive, non-overlapping frames of a 1-D signal (a partial last frame counts)."""
    if frame_length <= 0:
        raise ConfigurationError("frame length must be positive")
    n = waveform.shape[-1]
    frames = math.ceil(n / frame_length)
    if frames == 0:
        return waveform.new_zeros(0)
    power = waveform.new_empty(frames)
    whole = n // frame_length
    # Squared in blocks: squaring a 2-hour recording at once held a second copy of it (about 1 GB at 16 kHz).
    for first in range(0, whole, _LEVEL_BLOCK_FRAMES):
        last = min(whole, first + _LEVEL_BLOCK_FRAMES)
        block = waveform[first * frame_length : last * frame_length].reshape(last - first, frame_length)
        power[first:last] = block.square().sum(dim=1)
    if whole < frames:  # the partial last frame, zero-padded to a whole one
        tail = torch.nn.functional.pad(waveform[whole * frame_length :], (0, frames * frame_length - n))
        power[-1:] = tail.reshape(1, frame_length).square().sum(dim=1)
    counts = torch.full((frames,), float(frame_length), device=waveform.device)
    counts[-1] = n - (frames - 1) * frame_length
    return 10.0 * torch.log10(power / counts + 1e-12)  # the 1e-12 floor is _SILENT_DB


@dataclass(frozen=True)
class SilenceAnalysis:
    """Speech runs found by an energy detector, in samples, and the levels that decided them."""

    speech: tuple[tuple[int, int], ...]
    reference_db: float
    noise_db: float
    threshold_db: float
    frame_length: int


def detect_speech(
    waveform: torch.Tensor,
    sample_rate: int,
    *,
    threshold_db: float = -35.0,
    noise_margin_db: float = 6.0,
    floor_db: float = -65.0,
    frame_seconds: float = 0.02,
    min_speech_seconds: float = 0.06,
) -> SilenceAnalysis:
    """Find speech in a 1-D signal from 20 ms frame levels, with a threshold that follows the recording.

    The threshold is the highest of: the loud-speech level (95th percentile of frame levels) plus
    ``threshold_db``, the noise floor (10th percentile) plus ``noise_margin_db``, and the absolute ``floor_db``;
    but never closer than 15 dB to the loud-speech level, so a noisy recording keeps its quieter speech. Runs
    shorter than ``min_speech_seconds`` (clicks, bumps) do not count.
    """
    frame_length = frame_length_for(sample_rate, frame_seconds)
    return speech_from_levels(
        frame_db(waveform, frame_length),
        frame_length,
        waveform.shape[-1],
        threshold_db=threshold_db,
        noise_margin_db=noise_margin_db,
        floor_db=floor_db,
        min_speech_frames=max(1, math.ceil(min_speech_seconds / frame_seconds - 1e-9)),
    )


def frame_length_for(sample_rate: int, frame_seconds: float = 0.02) -> int:
    return max(1, round(frame_seconds * sample_rate))


def speech_from_levels(
    levels: torch.Tensor,
    frame_length: int,
    num_samples: int,
    *,
    threshold_db: float = -35.0,
    noise_margin_db: float = 6.0,
    floor_db: float = -65.0,
    min_speech_frames: int = 3,
) -> SilenceAnalysis:
    """:func:`detect_speech` from frame levels already measured (e.g. by a :class:`LevelMeter` while decoding)."""
    if levels.numel() == 0:
        return SilenceAnalysis((), _SILENT_DB, _SILENT_DB, floor_db, frame_length)
    # One value per 20 ms: the decision runs on the host in NumPy, which beats a device round trip per step and
    # torch's thread pool on a busy CPU.
    values = levels.detach().to("cpu", torch.float32).numpy()
    noise, reference = (float(v) for v in np.quantile(values, [0.10, 0.95]))
    threshold = max(reference + threshold_db, noise + noise_margin_db, floor_db)
    threshold = max(min(threshold, reference - 15.0), floor_db)
    runs = [(s, e) for s, e in true_runs(values > threshold) if e - s >= min_speech_frames]
    speech = tuple((s * frame_length, min(e * frame_length, num_samples)) for s, e in runs)
    return SilenceAnalysis(speech, reference, noise, threshold, frame_length)


def plan_kept_spans(
    speech: Sequence[tuple[int, int]],
    num_samples: int,
    *,
    edge_pad: int,
    max_pause: int | None,
    trim_edges: bool,
    grid: int = 1,
) -> list[tuple[int, int]]:
    """Which sample ranges to keep: speech plus ``edge_pad`` at the edges, every pause longer than ``max_pause``
    cut down to ``max_pause`` (half kept after the speech before it, half before the speech after it).

    Every removed stretch is a whole number of ``grid`` samples (a little more pause is kept instead), so frame-based
    analysis downstream (the recogniser's 20 ms levels that place its VAD restarts) sees the same frames as in the
    original recording. With no speech at all, nothing is kept when trimming edges and everything otherwise.
    """
    if not speech:
        return [] if trim_edges else ([(0, num_samples)] if num_samples else [])
    grid = max(1, int(grid))
    first, last = speech[0][0], speech[-1][1]
    start = max(0, first - edge_pad) // grid * grid if trim_edges else 0
    end = min(num_samples, last + edge_pad) if trim_edges else num_samples
    spans: list[tuple[int, int]] = []
    current = start
    if max_pause is not None:
        half = max_pause // 2
        for (_, prev_end), (next_start, _) in zip(speech, speech[1:]):
            if next_start - prev_end > max_pause:
                kept_until = prev_end + half
                removed = (next_start - (max_pause - half) - kept_until) // grid * grid
                if removed > 0:
                    spans.append((current, kept_until))
                    current = kept_until + removed
    spans.append((current, end))
    return [(s, e) for s, e in spans if e > s]


def cut(waveform: torch.Tensor, spans: Sequence[tuple[int, int]], *, in_place: bool = False) -> torch.Tensor:
    """The concatenation of ``waveform[..., s:e]`` for each kept span (ordered, non-overlapping).

    ``in_place=True`` (a 1-D CPU tensor the caller owns and no longer needs) moves the kept samples to the front
    of the same memory and returns a view: no new allocation, whose page faults cost more than the copy itself.
    """
    if not spans:
        return waveform[..., :0]
    if len(spans) == 1 and spans[0] == (0, waveform.shape[-1]):
        return waveform
    if waveform.device.type == "cpu" and waveform.dim() == 1:
        # NumPy's single-threaded copies beat torch.cat's thread pool on a busy 2-core machine.
        host = waveform.detach().numpy()
        if not in_place:
            return torch.from_numpy(np.concatenate([host[s:e] for s, e in spans]))
        used = 0
        for start, end in spans:
            host[used : used + end - start] = host[start:end]  # moves left only; NumPy handles the overlap
            used += end - start
        return waveform[:used]
    return torch.cat([waveform[..., s:e] for s, e in spans], dim=-1)


# ---------------------------------------------------------------- Silero VAD (optional)


def silero_speech(waveform: torch.Tensor, sample_rate: int, *, threshold: float = 0.5) -> tuple[tuple[int, int], ...]:
    """Speech runs in samples found by the Silero VAD bundled in the ``silero-vad`` package (no download)."""
    if sample_rate not in (8000, 16000):
        raise ConfigurationError("the Silero VAD needs 8 or 16 kHz audio; set target_sample_rate to 16000")
    model, get_speech_timestamps = _silero_model()
    with torch.inference_mode():
        found = get_speech_timestamps(
            waveform.detach().to("cpu", torch.float32),
            model,
            threshold=threshold,
            sampling_rate=sample_rate,
            min_silence_duration_ms=100,
            speech_pad_ms=0,
        )
    return tuple((int(item["start"]), int(item["end"])) for item in found)


@lru_cache(maxsize=1)
def _silero_model():
    try:
        from silero_vad import get_speech_timestamps, load_silero_vad
    except ImportError as exc:
        raise DependencyError(
            "the Silero VAD needs the 'silero-vad' package; install it with pip install silero-vad"
        ) from exc
    logger.info("loading the bundled Silero VAD model")
    return load_silero_vad(onnx=False), get_speech_timestamps


# ---------------------------------------------------------------- normalization


def peak_db(waveform: torch.Tensor) -> float:
    """Sample peak in dBFS (−inf for silence)."""
    if waveform.numel() == 0:
        return -math.inf
    peak = float(waveform.abs().max())
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


def peak_normalize(waveform: torch.Tensor, target_dbfs: float = -1.0) -> tuple[torch.Tensor, float]:
    """Scale so the sample peak sits at ``target_dbfs``; returns the new tensor and the gain in dB applied."""
    current = peak_db(waveform)
    if not math.isfinite(current):
        return waveform, 0.0
    gain_db = target_dbfs - current
    return waveform * (10.0 ** (gain_db / 20.0)), gain_db


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """BS.1770 K-weighting as two second-order sections (``[[b0, b1, b2, 1, a1, a2], …]``) for any sample rate.

    The bilinear-transform design reproduces the standard's published 48 kHz coefficients.
    """
    k = math.tan(math.pi * _SHELF_HZ / sample_rate)
    v_high = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    v_band = v_high ** 0.4996667741545416
    norm = 1.0 + k / _SHELF_Q + k * k
    shelf = [
        (v_high + v_band * k / _SHELF_Q + k * k) / norm,
        2.0 * (k * k - v_high) / norm,
        (v_high - v_band * k / _SHELF_Q + k * k) / norm,
        1.0,
        2.0 * (k * k - 1.0) / norm,
        (1.0 - k / _SHELF_Q + k * k) / norm,
    ]
    k = math.tan(math.pi * _HIGHPASS_HZ / sample_rate)
    norm = 1.0 + k / _HIGHPASS_Q + k * k
    # The standard keeps the high-pass numerator at [1, -2, 1] and normalises only the denominator.
    high = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / norm, (1.0 - k / _HIGHPASS_Q + k * k) / norm]
    return np.array([shelf, high], dtype=np.float64)


def k_weight(waveform: torch.Tensor, sample_rate: int, *, method: str = "auto") -> torch.Tensor:
    """Apply K-weighting to a 1-D signal on its own device.

    ``auto`` runs the exact IIR filter (scipy) for CPU tensors, where it is fastest, and elsewhere an FFT
    convolution with the filter's impulse response truncated where it has decayed below -100 dB (an IIR filter
    is sequential, a convolution is not). ``method="iir"`` or ``"fft"`` forces one; the tests hold them equal.
    """
    chosen = ("iir" if waveform.device.type == "cpu" else "fft") if method == "auto" else method
    if chosen == "iir":
        from scipy.signal import sosfilt

        host = waveform.detach().to("cpu", torch.float32).numpy()
        filtered = sosfilt(k_weighting_sos(sample_rate), host)  # float64 state: float32 drifts at 44.1 kHz
        return torch.from_numpy(np.asarray(filtered, dtype=np.float32)).to(waveform.device)
    if chosen != "fft":
        raise ConfigurationError(f"unknown K-weighting method {method!r}; choose auto, iir or fft")
    return fft_convolve(waveform, _k_impulse_response(sample_rate, waveform.device))


def _k_impulse_response(sample_rate: int, device: torch.device) -> torch.Tensor:
    from scipy.signal import sosfilt

    impulse = np.zeros(max(16, int(_KFILTER_IR_SECONDS * sample_rate)), dtype=np.float64)
    impulse[0] = 1.0
    return torch.from_numpy(sosfilt(k_weighting_sos(sample_rate), impulse).astype(np.float32)).to(device)


def fft_convolve(signal: torch.Tensor, kernel: torch.Tensor, *, fft_size: int = 1 << 15) -> torch.Tensor:
    """Causal convolution of a 1-D signal with a shorter kernel by overlap-add; the output has the signal's length."""
    n, k = signal.shape[-1], kernel.shape[-1]
    if n == 0:
        return signal
    size = max(fft_size, 1 << (2 * k).bit_length())
    block = size - k + 1
    blocks = math.ceil(n / block)
    segments = torch.nn.functional.pad(signal, (0, blocks * block - n)).reshape(blocks, block)
    pieces = torch.fft.irfft(torch.fft.rfft(segments, n=size) * torch.fft.rfft(kernel, n=size), n=size)
    out = pieces[:, :block].reshape(-1).clone()
    # Each block's tail (the kernel's ringing) spills into the start of the next block.
    tails = pieces[:-1, block:]
    starts = torch.arange(1, blocks, device=signal.device) * block
    index = (starts[:, None] + torch.arange(k - 1, device=signal.device)[None, :]).reshape(-1)
    keep = index < out.shape[0]
    out.index_add_(0, index[keep], tails.reshape(-1)[keep])
    return out[:n]


def quarter_energies(weighted: torch.Tensor, hop: int) -> torch.Tensor:
    """Sums of squares over consecutive ``hop``-sample stretches (100 ms) as a float64 CPU tensor; a partial one
    is dropped.

    float32 sums of 100 ms are exact enough (relative error ~1e-6); the few sums move to the CPU for the gating
    arithmetic in float64, which Apple MPS lacks.
    """
    quarters = weighted.shape[-1] // hop
    return weighted[: quarters * hop].reshape(quarters, hop).square().sum(dim=1).to("cpu", torch.float64)


def gated_loudness(energies: torch.Tensor, hop: int) -> float:
    """BS.1770-4 gated loudness (LUFS) from 100 ms K-weighted energy sums; −inf when everything is gated out."""
    if energies.numel() < 4:
        return -math.inf
    # 400 ms blocks overlapping by 75 %: each block is four consecutive 100 ms quarters.
    block_power = (energies[:-3] + energies[1:-2] + energies[2:-1] + energies[3:]) / (4 * hop)
    block_lufs = _LUFS_OFFSET + 10.0 * torch.log10(block_power.clamp_min(1e-30))
    loud = block_power[block_lufs > _ABSOLUTE_GATE_LUFS]
    if loud.numel() == 0:
        return -math.inf
    relative_gate = _LUFS_OFFSET + 10.0 * math.log10(float(loud.mean())) + _RELATIVE_GATE_LU
    gated = block_power[(block_lufs > _ABSOLUTE_GATE_LUFS) & (block_lufs > relative_gate)]
    return _LUFS_OFFSET + 10.0 * math.log10(float(gated.mean()))


def integrated_loudness(waveform: torch.Tensor, sample_rate: int, *, method: str = "auto") -> float:
    """Gated integrated loudness of a mono signal in LUFS (ITU-R BS.1770-4); −inf when everything is gated out."""
    hop = int(round(0.1 * sample_rate))
    if waveform.shape[-1] < 4 * hop:
        return -math.inf
    return gated_loudness(quarter_energies(k_weight(waveform, sample_rate, method=method), hop), hop)


def loudness_gain_db(measured_lufs: float, peak_dbfs: float, target_lufs: float, peak_ceiling_dbfs: float) -> float:
    """Gain that brings ``measured_lufs`` to ``target_lufs`` without lifting the peak above ``peak_ceiling_dbfs``."""
    if not math.isfinite(measured_lufs):
        return 0.0
    return min(target_lufs - measured_lufs, peak_ceiling_dbfs - peak_dbfs)


def loudness_normalize(
    waveform: torch.Tensor,
    sample_rate: int,
    target_lufs: float = -23.0,
    *,
    peak_ceiling_dbfs: float = -1.0,
    method: str = "auto",
) -> tuple[torch.Tensor, float, float]:
    """Scale to ``target_lufs``; returns (tensor, measured LUFS, gain dB). The gain is capped so the sample
    peak stays at or below ``peak_ceiling_dbfs`` (the caller reports when the cap bites)."""
    measured = integrated_loudness(waveform, sample_rate, method=method)
    gain_db = loudness_gain_db(measured, peak_db(waveform), target_lufs, peak_ceiling_dbfs)
    return (waveform * (10.0 ** (gain_db / 20.0)) if gain_db else waveform), measured, gain_db


# ---------------------------------------------------------------- levels measured once, for detection and loudness


@dataclass(frozen=True)
class SignalLevels:
    """What silence detection and loudness normalization need from a signal, measured in one pass."""

    frame_db: torch.Tensor
    frame_length: int
    loudness_lufs: float
    peak_dbfs: float
    num_samples: int


def measure_levels(
    waveform: torch.Tensor, sample_rate: int, *, frame_seconds: float = 0.02, method: str = "auto"
) -> SignalLevels:
    """Frame levels, gated loudness and peak of a whole 1-D signal on its own device."""
    frame_length = frame_length_for(sample_rate, frame_seconds)
    return SignalLevels(
        frame_db=frame_db(waveform, frame_length),
        frame_length=frame_length,
        loudness_lufs=integrated_loudness(waveform, sample_rate, method=method),
        peak_dbfs=peak_db(waveform),
        num_samples=int(waveform.shape[-1]),
    )


class LevelMeter:
    """:func:`measure_levels` computed chunk by chunk while a file decodes (CPU): the same frame sums, the same
    IIR K-weighting (its state carried across chunks) and the same 100 ms energy sums."""

    def __init__(self, sample_rate: int, *, frame_seconds: float = 0.02) -> None:
        self.sample_rate = sample_rate
        self.frame_length = frame_length_for(sample_rate, frame_seconds)
        self.hop = int(round(0.1 * sample_rate))
        self.num_samples = 0
        self.busy_seconds = 0.0
        self._sos = k_weighting_sos(sample_rate)
        self._state = np.zeros((self._sos.shape[0], 2))
        self._frame_rest = np.zeros(0, dtype=np.float32)
        self._quarter_rest = np.zeros(0, dtype=np.float32)
        self._frame_sums: list[np.ndarray] = []
        self._energies: list[np.ndarray] = []
        self._peak = 0.0

    def feed(self, chunk: np.ndarray) -> None:
        from scipy.signal import sosfilt

        if chunk.size == 0:
            return
        started = time.perf_counter()
        self.num_samples += chunk.size
        self._peak = max(self._peak, float(np.max(np.abs(chunk))))
        joined = np.concatenate((self._frame_rest, chunk))
        self._frame_rest = self._consume(joined, self.frame_length, self._frame_sums, False)
        weighted, self._state = sosfilt(self._sos, chunk, zi=self._state)
        joined = np.concatenate((self._quarter_rest, weighted.astype(np.float32)))
        self._quarter_rest = self._consume(joined, self.hop, self._energies, True)
        self.busy_seconds += time.perf_counter() - started

    @staticmethod
    def _consume(data: np.ndarray, size: int, out: list[np.ndarray], energies: bool) -> np.ndarray:
        # NumPy, not torch: per-chunk tensors are small, and torch's intra-op thread pool costs more than the
        # arithmetic on a busy machine (measured: ~20 ms per op under load versus well under 1 ms here).
        whole = data.size // size * size
        if whole:
            rows = data[:whole].reshape(-1, size)
            sums = np.einsum("ij,ij->i", rows, rows)
            out.append(sums.astype(np.float64) if energies else sums)
        return data[whole:].copy()

    def finish(self) -> SignalLevels:
        sums = np.concatenate(self._frame_sums) / self.frame_length if self._frame_sums else np.zeros(0, np.float32)
        if self._frame_rest.size:
            rest = self._frame_rest
            sums = np.concatenate((sums, [np.dot(rest, rest) / rest.size]))
        energies = np.concatenate(self._energies) if self._energies else np.zeros(0)
        return SignalLevels(
            frame_db=10.0 * torch.log10(torch.from_numpy(sums.astype(np.float32)) + 1e-12),
            frame_length=self.frame_length,
            loudness_lufs=gated_loudness(torch.from_numpy(energies), self.hop),
            peak_dbfs=20.0 * math.log10(self._peak) if self._peak > 0 else -math.inf,
            num_samples=self.num_samples,
        )
