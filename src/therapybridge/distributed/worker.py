"""The Ray actor: one loaded ``AudioTranscriptionPipeline`` for its whole life, one file at a time.

A file that fails for its own reason (bad audio) comes back as an error in the result, never as an exception, so
the driver can tell it from a worker or node that died (a Ray error), which is the only kind it retries.
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..config import PipelineConfig
from ..errors import ProcessingError, TherapyBridgeError
from .transport import FileRequest, local_copy, readable_here

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileResult:
    """What a worker hands back for one request; ``needs_bytes`` when it could not read the driver's file."""

    index: int
    worker: str
    node: str
    started: float = 0.0  # epoch seconds on the worker
    finished: float = 0.0
    cpu_s: float = 0.0
    transcript: Any = None
    performance: Any = field(default=None, repr=False)
    error: TherapyBridgeError | None = None
    needs_bytes: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "worker": self.worker, "node": self.node, "started": self.started,
                "finished": self.finished, "cpu_s": self.cpu_s, "ok": self.error is None,
                "needs_bytes": self.needs_bytes}


class TranscriptionWorker:
    """Loads the pipeline once (models included) and transcribes the requests the pool sends it."""

    def __init__(self, config: PipelineConfig) -> None:
        from ..pipeline import AudioTranscriptionPipeline

        import ray

        context = ray.get_runtime_context()
        self.worker = context.get_actor_id() or f"pid-{os.getpid()}"
        self.node = context.get_node_id() or "unknown"
        started = time.perf_counter()
        # Workers only compute: reports and transcripts are written by the driver.
        self.pipeline = AudioTranscriptionPipeline(config.replace(perf__output_dir=None)).load()
        self.load_s = time.perf_counter() - started
        logger.debug("worker ready in %.1fs", self.load_s)

    def info(self) -> dict[str, Any]:
        return {"worker": self.worker, "node": self.node, "pid": os.getpid(), "load_s": self.load_s,
                "device": self.pipeline.device.type}

    def transcribe(self, request: FileRequest, formats: tuple[str, ...], data: bytes | None = None) -> FileResult:
        """Transcribe one input: from ``data`` when its bytes came along, else from the driver's path."""
        started, cpu = time.time(), time.process_time()
        base = FileResult(index=request.index, worker=self.worker, node=self.node, started=started)
        if data is None and not readable_here(request):
            return replace(base, needs_bytes=True, finished=time.time())
        if data is None:
            item, path = self._run(request.source, formats), request.source
        else:
            with local_copy(request, data) as path:
                item = self._run(path, formats)
        return replace(
            base, finished=time.time(), cpu_s=time.process_time() - cpu, transcript=item.transcript,
            performance=item.performance, error=_portable(item.error, path, request.source),
        )

    def _run(self, path: str, formats: tuple[str, ...]) -> Any:
        return self.pipeline.process_item(path, formats=formats)


def _portable(error: TherapyBridgeError | None, path: str, source: str) -> TherapyBridgeError | None:
    """The error itself when it survives pickling (its class and message), else a ``ProcessingError`` saying it;
    the temporary copy's name in its message becomes the driver's name for the input."""
    if error is None:
        return None
    try:
        copy = pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - an exception class with an unusual constructor
        copy = ProcessingError(str(error) or type(error).__name__)
    copy.__cause__ = copy.__context__ = None
    copy.__traceback__ = None
    copy.args = tuple(a.replace(path, source) if isinstance(a, str) else a for a in copy.args)
    return copy
