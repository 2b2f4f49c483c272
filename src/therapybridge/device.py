"""Resolve the compute device once, at the edge of the program."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    import torch

logger = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(spec: "str | torch.device | None" = "auto") -> "torch.device":
    """Turn ``"auto" | "cpu" | "cuda[:N]" | "mps"`` (or a ``torch.device``) into an available ``torch.device``.

    ``auto`` prefers CUDA, then Apple MPS, then the CPU. Asking for a device that is not present is an error
    rather than a silent fallback, so that timings and results are never attributed to the wrong hardware.
    """
    import torch

    if isinstance(spec, torch.device):
        spec = str(spec)
    name = (spec or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":", 1)[0]
    if kind not in DEVICE_CHOICES:
        raise ConfigurationError(f"unknown device {spec!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError("device 'cuda' was requested but no CUDA GPU is available; use --device auto or cpu")
    if kind == "mps" and not _mps_available():
        raise ConfigurationError("device 'mps' was requested but Apple MPS is not available; use --device auto or cpu")
    return torch.device(name)


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
