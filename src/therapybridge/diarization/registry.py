"""``load_diarizer``: one diarizer per backend, device and download permission, created once per process."""

from __future__ import annotations

import threading

import torch

from ..errors import ConfigurationError
from .base import Diarizer

DIARIZERS = ("default", "pyannote")
_lock = threading.Lock()
_diarizers: dict[tuple[str, str, bool], Diarizer] = {}


def load_diarizer(
    name: str = "default", device: torch.device | str = "cpu", *, allow_download: bool = False
) -> Diarizer:
    """The diarizer called ``name`` on ``device``, created once per process and reused (models load lazily).

    ``allow_download`` lets a backend whose weights are named on a hub fetch them (pyannote); the default engine's
    weights ship in a package and never download."""
    key = (name, str(torch.device(device)), allow_download and name == "pyannote")
    with _lock:
        if key not in _diarizers:
            if name == "default":
                from .engine import DefaultDiarizer

                _diarizers[key] = DefaultDiarizer(device)
            elif name == "pyannote":
                from .pyannote_backend import PyannoteDiarizer

                _diarizers[key] = PyannoteDiarizer(device, allow_download=allow_download)
            else:
                raise ConfigurationError(f"unknown diarizer {name!r}; choose one of: {', '.join(DIARIZERS)}")
        return _diarizers[key]
