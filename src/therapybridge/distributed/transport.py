"""How a recording reaches a worker: its path when the worker sees the driver's file, else its bytes.

The driver describes each input by path, size and sha256 (the digest the transcript's provenance carries anyway).
A worker uses the path only when the file there has that size and digest; otherwise it asks for the bytes, which
the driver puts in the object store. Received bytes go to a private temporary folder under the input's own file
name (the extension tells the decoder the format) and are removed when the file is done.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..pipeline import file_sha256


@dataclass(frozen=True)
class FileRequest:
    """One input as the driver sends it: ``data`` holds the recording's bytes when they travel by value."""

    index: int
    source: str
    size: int
    sha256: str
    attempt: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "size": self.size, "attempt": self.attempt}


def describe(index: int, source: str) -> FileRequest:
    """The request for ``source`` (size and digest read on the driver)."""
    return FileRequest(index=index, source=source, size=os.path.getsize(source), sha256=file_sha256(source))


def readable_here(request: FileRequest) -> bool:
    """Whether this process sees the driver's very file at ``request.source`` (same size and content)."""
    try:
        return os.path.getsize(request.source) == request.size and file_sha256(request.source) == request.sha256
    except OSError:
        return False


@contextmanager
def local_copy(request: FileRequest, data: bytes) -> Iterator[str]:
    """A path to the recording on this machine: the bytes written under the input's name, removed afterwards."""
    folder = tempfile.mkdtemp(prefix="tb-ray-")
    try:
        path = Path(folder) / Path(request.source).name
        path.write_bytes(data)
        yield str(path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
