"""The pipeline's models: loaded once, on first use or in the background, and shared by every file."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch

from ..asr import load_transcriber
from ..config import PipelineConfig
from ..diarization import load_diarizer
from ..diarization.base import Diarizer

logger = logging.getLogger(__name__)


class PipelineModels:
    """The recogniser and the diarizer of one pipeline, each loaded at most once (thread-safe).

    A load that ran on the background loader (``warm``) is timed there, and the next foreground request records
    that time on its ``model_loading`` span, so the report still says what loading cost.
    """

    def __init__(self, config: PipelineConfig, device: torch.device) -> None:
        self._config = config
        self._device = device
        self._transcriber: Any = None
        self._diarizer: Diarizer | None = None
        self._asr_lock = threading.Lock()
        self._diarizer_lock = threading.Lock()
        self._background_load_s: dict[str, float] = {}
        self._reported_loads: set[str] = set()

    @property
    def loaded_transcriber(self) -> Any:
        """The recogniser if it has been created, else None (never loads)."""
        return self._transcriber

    def transcriber(self, profiler: Any = None, *, background: bool = False) -> Any:
        config = self._config
        with _span(profiler, "model_loading", model=config.asr.model, backend=config.backend) as span:
            with self._asr_lock:
                if self._transcriber is None:
                    self._transcriber = load_transcriber(
                        config.backend, config.asr, self._device, allow_remote=config.allow_remote
                    )
                self._load_timed("asr", self._transcriber.load, background)
            if not background:
                _note_background_load(span, self._background_load_s.pop("asr", None))
        return self._transcriber

    def diarizer(self, profiler: Any = None, *, background: bool = False) -> Diarizer:
        config = self._config
        with _span(profiler, "model_loading", engine=config.diarizer) as span:
            with self._diarizer_lock:
                if self._diarizer is None:
                    self._diarizer = load_diarizer(config.diarizer, self._device, allow_download=config.asr.allow_download)
                self._load_timed("diarization", self._diarizer.load, background)
            if not background:
                _note_background_load(span, self._background_load_s.pop("diarization", None))
        return self._diarizer

    def warm(self, enable_diarization: bool) -> None:
        """Load the models in the background while the first input decodes; failures resurface in the stage."""
        try:
            self.transcriber(background=True)
            if enable_diarization:
                self.diarizer(background=True)
        except Exception:  # noqa: BLE001 - reported by the stage that needs the model
            logger.debug("background model loading failed", exc_info=True)

    def _load_timed(self, key: str, load: Callable[[], None], background: bool) -> None:
        started = time.perf_counter()
        load()
        if background and key not in self._reported_loads:
            self._reported_loads.add(key)
            self._background_load_s[key] = time.perf_counter() - started


def _span(profiler: Any, name: str, **metadata: Any):
    return nullcontext() if profiler is None else profiler.subprocess(name, **metadata)


def _note_background_load(span: Any, seconds: float | None) -> None:
    if seconds is not None and span is not None and hasattr(span, "set"):
        span.set(loaded_in_background=True, background_load_s=round(seconds, 3))
