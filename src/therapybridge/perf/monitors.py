"""Resource monitoring: process memory and CPU, and a background GPU/RSS sampler.

GPU support lights up only when it is really there: NVIDIA through NVML (``nvidia-ml-py``: utilization and
device memory) plus ``torch.cuda`` (peak allocated memory, optional synchronize), Apple silicon through
``torch.mps`` memory counters (MPS has no utilization counter, so none is reported). torch and NVML are
imported on first use, never at module import. Without a GPU the monitor says so once and records no GPU
figures at all.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

from .session import GPUStatus, Sample

__all__ = ["GPUMonitor", "ProcessStats", "collect_system_info", "detect_gpu"]

log = logging.getLogger(__name__)

# ru_maxrss is kibibytes on Linux and bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024


class ProcessStats:
    """Cheap readings of this process: RSS, lifetime peak RSS and CPU time.

    RSS is psutil's ``memory_info().rss``. On Linux it is read straight from ``/proc/self/statm`` (the file psutil
    parses, same figure) through one kept-open descriptor: about 1 µs instead of psutil's 10-40 µs, which is what
    lets ``subprocess()`` stay far below its 50 µs budget.
    """

    _PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._statm: int | None = None
        self._pid = os.getpid()
        if sys.platform.startswith("linux"):
            try:
                self._statm = os.open(f"/proc/{self._pid}/statm", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except OSError:
                self._statm = None

    def __del__(self) -> None:
        fd, self._statm = getattr(self, "_statm", None), None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def rss(self) -> int:
        fd = self._statm
        if fd is not None and os.getpid() == self._pid:  # after fork() the descriptor names the parent
            try:
                return int(os.pread(fd, 128, 0).split()[1]) * self._PAGE_SIZE
            except (OSError, ValueError, IndexError):
                pass
        return self._process.memory_info().rss

    def rss_psutil(self) -> int:
        return self._process.memory_info().rss

    @staticmethod
    def usage() -> tuple[int, int]:
        """(process CPU time in ns, lifetime peak RSS in bytes) from one ``getrusage`` call (one syscall for both)."""
        if resource is None:
            peak = getattr(psutil.Process().memory_info(), "peak_wset", 0)
            return time.process_time_ns(), int(peak)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return round((usage.ru_utime + usage.ru_stime) * 1e6) * 1000, usage.ru_maxrss * _MAXRSS_UNIT  # µs resolution


# ----------------------------------------------------------------------------------------------- GPU probes


class _GPUProbe:
    """What a backend can read. Every method returns None when the figure is not measured."""

    status: GPUStatus

    def read(self) -> tuple[float | None, int | None, int | None]:
        """(utilization %, device memory used bytes, memory allocated by this process bytes)."""
        return None, None, None

    def reset_peak(self) -> None:
        return None

    def peak_allocated(self) -> int | None:
        return None

    def synchronize(self) -> None:
        return None

    def close(self) -> None:
        return None


class _NoGPU(_GPUProbe):
    def __init__(self, status: GPUStatus) -> None:
        self.status = status


class _CudaProbe(_GPUProbe):
    def __init__(self, status: GPUStatus, nvml: Any, handle: Any, torch: Any, torch_index: int | None) -> None:
        self.status = status
        self._nvml = nvml
        self._handle = handle
        self._torch = torch
        self._index = torch_index

    def read(self) -> tuple[float | None, int | None, int | None]:
        util = used = allocated = None
        if self._handle is not None and self._nvml is not None:
            try:
                util = float(self._nvml.nvmlDeviceGetUtilizationRates(self._handle).gpu)
                used = int(self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used)
            except Exception as exc:  # noqa: BLE001 - a driver hiccup must not stop the pipeline
                log.debug("NVML read failed: %s", exc)
        if self._index is not None:
            allocated = int(self._torch.cuda.memory_allocated(self._index))
        return util, used, allocated

    def reset_peak(self) -> None:
        if self._index is not None:
            self._torch.cuda.reset_peak_memory_stats(self._index)

    def peak_allocated(self) -> int | None:
        return None if self._index is None else int(self._torch.cuda.max_memory_allocated(self._index))

    def synchronize(self) -> None:
        if self._index is not None:
            self._torch.cuda.synchronize(self._index)

    def close(self) -> None:
        nvml, self._nvml, self._handle = self._nvml, None, None
        if nvml is not None:  # NVML counts nvmlInit() calls: every successful init needs one shutdown
            try:
                nvml.nvmlShutdown()
            except Exception:  # noqa: BLE001
                pass


class _MpsProbe(_GPUProbe):
    def __init__(self, status: GPUStatus, torch: Any) -> None:
        self.status = status
        self._torch = torch

    def read(self) -> tuple[float | None, int | None, int | None]:
        mps = self._torch.mps
        return None, int(mps.driver_allocated_memory()), int(mps.current_allocated_memory())

    def synchronize(self) -> None:
        self._torch.mps.synchronize()


def _import_torch(import_if_installed: bool) -> Any:
    """torch if it is already imported, or (when allowed) importable; else None."""
    torch = sys.modules.get("torch")
    if torch is not None or not import_if_installed:
        return torch
    if importlib.util.find_spec("torch") is None:
        return None
    try:
        return importlib.import_module("torch")
    except Exception as exc:  # noqa: BLE001 - a broken torch install means "no torch" for monitoring
        log.debug("torch import failed: %s", exc)
        return None


def _init_nvml() -> Any:
    try:
        nvml = importlib.import_module("pynvml")
        nvml.nvmlInit()
        return nvml
    except Exception as exc:  # noqa: BLE001 - no library, no driver or no device: all mean "no NVML"
        log.debug("NVML unavailable: %s", exc)
        return None


def _nvml_handle_for(nvml: Any, torch: Any, index: int) -> Any:
    """The NVML handle of torch's CUDA device ``index`` (matched by UUID: NVML ignores CUDA_VISIBLE_DEVICES)."""
    try:
        uuid = str(torch.cuda.get_device_properties(index).uuid)
        return nvml.nvmlDeviceGetHandleByUUID(uuid if uuid.startswith("GPU-") else f"GPU-{uuid}")
    except Exception:  # noqa: BLE001 - older torch without uuid: fall back to the index
        return nvml.nvmlDeviceGetHandleByIndex(index)


def detect_gpu(enabled: bool = True, *, import_torch: bool = True) -> _GPUProbe:
    """Find the GPU to monitor. Returns a probe whose ``status`` is the one-line statement for reports."""
    if not enabled:
        return _NoGPU(GPUStatus(None, "disabled", "GPU monitoring was disabled; no GPU figures were recorded."))
    torch = _import_torch(import_torch)
    nvml = _init_nvml()
    if torch is not None and torch.cuda.is_available():
        index = torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        handle = None
        if nvml is not None:
            try:
                handle = _nvml_handle_for(nvml, torch, index)
            except Exception as exc:  # noqa: BLE001
                log.debug("no NVML handle for CUDA device %d: %s", index, exc)
        device = {"index": index, "name": props.name, "backend": "cuda", "memory_total": int(props.total_memory)}
        how = "NVML utilization + torch.cuda memory" if handle is not None else "torch.cuda memory only (no NVML)"
        status = GPUStatus(True, "cuda", f"GPU: {props.name} (CUDA, {how}).", (device,), handle is not None)
        return _CudaProbe(status, nvml, handle, torch, index)
    if nvml is not None and nvml.nvmlDeviceGetCount() > 0:
        handle = nvml.nvmlDeviceGetHandleByIndex(0)
        name = nvml.nvmlDeviceGetName(handle)
        name = name.decode() if isinstance(name, bytes) else str(name)
        total = int(nvml.nvmlDeviceGetMemoryInfo(handle).total)
        device = {"index": 0, "name": name, "backend": "cuda", "memory_total": total}
        note = f"GPU: {name} (CUDA via NVML; torch cannot use it, so figures are device-wide)."
        return _CudaProbe(GPUStatus(True, "cuda", note, (device,), True), nvml, handle, None, None)
    if nvml is not None:
        nvml.nvmlShutdown()
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    if mps is not None and mps.is_available():
        device = {"index": 0, "name": "Apple MPS", "backend": "mps", "memory_total": None}
        note = "GPU: Apple MPS (torch.mps memory counters; MPS reports no utilization)."
        return _MpsProbe(GPUStatus(True, "mps", note, (device,), False), torch)
    checked = "NVML" + (" and torch" if torch is not None else "; torch not installed")
    note = f"No GPU present (checked {checked}): CPU only, no GPU figures were recorded."
    return _NoGPU(GPUStatus(False, "none", note))


# ----------------------------------------------------------------------------------------------- sampler


class GPUMonitor:
    """One background thread that samples GPU utilization/memory and process RSS every ``interval`` seconds.

    Stopped by a ``threading.Event`` (``stop()`` returns within one interval). ``samples()`` is safe to call
    from any thread. With ``interval=None`` no thread runs; ``sample_now()`` still works.
    """

    def __init__(
        self,
        interval: float | None = 0.5,
        *,
        enable_gpu: bool = True,
        track_rss: bool = True,
        clock: Callable[[], int] = time.perf_counter_ns,
        probe: _GPUProbe | None = None,
    ) -> None:
        if interval is not None and interval <= 0:
            from .session import PerfUsageError

            raise PerfUsageError(f"sample interval must be positive seconds, got {interval!r}.")
        self.interval = interval
        self._clock = clock
        self._probe = probe if probe is not None else detect_gpu(enable_gpu)
        self._process = ProcessStats() if track_rss else None
        self._samples: list[Sample] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> GPUStatus:
        return self._probe.status

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def sample_now(self) -> Sample:
        util, used, allocated = self._probe.read()
        rss = self._process.rss() if self._process is not None else None
        sample = Sample(self._clock(), rss, util, used, allocated)
        with self._lock:
            self._samples.append(sample)
        return sample

    def samples(self) -> tuple[Sample, ...]:
        with self._lock:
            return tuple(self._samples)

    def start(self) -> GPUMonitor:
        if self.interval is None or self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="therapybridge-perf-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()
        self._probe.close()

    def _run(self) -> None:
        interval = self.interval
        assert interval is not None
        while True:
            try:
                self.sample_now()
            except Exception as exc:  # noqa: BLE001 - a failed reading skips one sample, never the run
                log.debug("sampling failed: %s", exc)
            if self._stop.wait(interval):
                return

    # stage-boundary hooks used by PerformanceLogger
    def reset_peak(self) -> None:
        self._probe.reset_peak()

    def peak_allocated(self) -> int | None:
        return self._probe.peak_allocated()

    def synchronize(self) -> None:
        self._probe.synchronize()

    def __enter__(self) -> GPUMonitor:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# ----------------------------------------------------------------------------------------------- system info


@functools.lru_cache(maxsize=1)
def _static_system_info() -> tuple[tuple[str, Any], ...]:
    """Facts that cannot change while the process runs (looked up once: package metadata is slow to read)."""
    try:
        from importlib.metadata import version

        tool_version: str | None = version("therapybridge")
    except Exception:  # noqa: BLE001 - running from a source tree without metadata
        tool_version = None
    return (
        ("python_version", platform.python_version()),
        ("platform", platform.platform(terse=True)),
        ("machine", platform.machine()),
        ("cpu_count", os.cpu_count()),
        ("memory_total", int(psutil.virtual_memory().total)),
        ("psutil_version", psutil.__version__),
        ("therapybridge_version", tool_version),
    )


def collect_system_info(gpu: GPUStatus, *, import_torch: bool = False) -> dict[str, Any]:
    """Python, torch and hardware facts for the report (no host name, no user name, no paths)."""
    torch = _import_torch(import_torch)
    cuda = mps = None
    if torch is not None:
        cuda = bool(torch.cuda.is_available())
        backend = getattr(getattr(torch, "backends", None), "mps", None)
        mps = bool(backend is not None and backend.is_available())
    static = dict(_static_system_info())
    return {
        "python_version": static["python_version"],
        "platform": static["platform"],
        "machine": static["machine"],
        "torch_version": None if torch is None else str(torch.__version__),
        "cuda_available": cuda,
        "mps_available": mps,
        "devices": [dict(d) for d in gpu.devices],
        "cpu_count": static["cpu_count"],
        "memory_total": static["memory_total"],
        "psutil_version": static["psutil_version"],
        "therapybridge_version": static["therapybridge_version"],
    }
