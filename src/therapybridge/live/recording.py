"""The session's audio, kept on disk only until the final pass has read it: a 0600 temporary float WAV."""

from __future__ import annotations

import logging
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from ..audio.signal import SAMPLE_RATE
from ..errors import OutputError

logger = logging.getLogger(__name__)


class Recording:
    """Append float32 mono 16 kHz samples to a private temporary WAV file; ``close()`` finishes its header and
    ``discard()`` deletes it. Memory stays flat however long the session runs."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        try:
            fd, name = tempfile.mkstemp(prefix="therapybridge-live-", suffix=".wav", dir=directory)  # mode 0600
        except OSError as exc:
            raise OutputError(f"cannot create the temporary recording: {exc.strerror or exc}") from exc
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._samples = 0
        self._file.write(_header(0))

    @property
    def seconds(self) -> float:
        return self._samples / SAMPLE_RATE

    def write(self, samples: np.ndarray) -> None:
        data = np.ascontiguousarray(samples, dtype="<f4")
        self._file.write(data.tobytes())
        self._samples += len(data)

    def close(self) -> Path:
        """Finish the header (idempotent); the file is then a regular WAV any decoder reads."""
        if not self._file.closed:
            self._file.seek(0)
            self._file.write(_header(self._samples))
            self._file.close()
        return self.path

    def discard(self) -> None:
        self.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def _header(samples: int) -> bytes:
    """A WAVE_FORMAT_IEEE_FLOAT header (mono, 16 kHz, 32-bit) for ``samples`` samples."""
    data = samples * 4
    fmt = struct.pack("<HHIIHH", 3, 1, SAMPLE_RATE, SAMPLE_RATE * 4, 4, 32)
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", data))
