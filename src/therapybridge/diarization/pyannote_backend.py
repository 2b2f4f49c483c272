"""Optional backend: pyannote.audio's speaker-diarization pipeline, when the user has installed it and its weights.

Telemetry is switched off before pyannote is imported. The pipeline is read from ``THERAPYBRIDGE_PYANNOTE_PIPELINE``
(a local directory holding its ``config.yaml``, or that file) and loaded with the Hugging Face hub in offline mode,
so models it names must be on the machine too. A hub name (the default, ``pyannote/speaker-diarization-3.1``) is
fetched only with ``allow_download=True`` (the CLI's ``--allow-download``), as Whisper hub models are.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from ..errors import DependencyError, ModelNotFoundError
from ..perf.hooks import NULL_PROFILER, StageProfiler
from ..types import SpeakerTurn
from .base import DiarizationOptions, DiarizationResult, Diarizer

log = logging.getLogger(__name__)

DEFAULT_PIPELINE = "pyannote/speaker-diarization-3.1"
PIPELINE_ENV = "THERAPYBRIDGE_PYANNOTE_PIPELINE"
_LOCAL_HINT = f"set {PIPELINE_ENV} to a local directory holding the pipeline's config.yaml (or to that file)"


def pyannote_available() -> bool:
    """Whether pyannote.audio can be imported (with telemetry off)."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
    try:
        import pyannote.audio  # noqa: F401
    except Exception:
        return False
    return True


def resolve_pipeline(source: str, *, allow_download: bool) -> str:
    """The ``config.yaml`` of a local pipeline, or a hub name when downloading is allowed; otherwise an error that
    says how to point the backend at a local copy."""
    path = Path(source).expanduser()
    if path.is_dir():
        config = path / "config.yaml"
        if not config.is_file():
            raise ModelNotFoundError(f"{source!r} holds no config.yaml; {_LOCAL_HINT}")
        return str(config)
    if path.is_file():
        return str(path)
    if path.is_absolute() or source.startswith((".", "~")) or source.endswith(("/", ".yaml", ".yml")):
        raise ModelNotFoundError(f"no pyannote pipeline at {source!r}; {_LOCAL_HINT}")
    if not allow_download:
        raise ModelNotFoundError(
            f"the pyannote pipeline {source!r} is a hub name and downloading is off; {_LOCAL_HINT}, "
            "or pass --allow-download (allow_download=True) to fetch it"
        )
    return source


@contextlib.contextmanager
def _hub_offline(offline: bool) -> Iterator[None]:
    """Hugging Face hub offline mode while a pipeline loads, so a model it names is never fetched behind our back."""
    if not offline:
        yield
        return
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        constants = __import__("huggingface_hub.constants", fromlist=["HF_HUB_OFFLINE"])
    except ImportError:
        constants = None
    saved = getattr(constants, "HF_HUB_OFFLINE", None)
    if constants is not None:
        constants.HF_HUB_OFFLINE = True  # read at import time; functions consult the module attribute
    try:
        yield
    finally:
        if constants is not None:
            constants.HF_HUB_OFFLINE = saved
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous


class PyannoteDiarizer(Diarizer):
    name = "pyannote"

    def __init__(
        self, device: torch.device | str = "cpu", pipeline: str | None = None, *, allow_download: bool = False
    ) -> None:
        self.device = torch.device(device)
        self.source = pipeline or os.environ.get(PIPELINE_ENV) or DEFAULT_PIPELINE
        self.allow_download = allow_download
        self._pipeline = None

    def load(self, profiler: StageProfiler = NULL_PROFILER) -> None:
        if self._pipeline is not None:
            return
        if not pyannote_available():
            raise DependencyError("the pyannote backend needs pyannote.audio: pip install 'therapybridge[pyannote]'")
        source = resolve_pipeline(self.source, allow_download=self.allow_download)
        from pyannote.audio import Pipeline

        with profiler.subprocess("model_loading", engine=self.name, device=str(self.device)):
            try:
                with _hub_offline(not self.allow_download):
                    pipeline = Pipeline.from_pretrained(source)
            except Exception as exc:
                raise ModelNotFoundError(f"could not load the pyannote pipeline {self.source!r}; {_LOCAL_HINT}") from exc
            if pipeline is None:
                raise ModelNotFoundError(f"pyannote pipeline {self.source!r} is not available offline; {_LOCAL_HINT}")
            self._pipeline = pipeline.to(self.device)

    def diarize(
        self,
        audio: np.ndarray,
        sample_rate: int = 16000,
        options: DiarizationOptions | None = None,
        *,
        profiler: StageProfiler = NULL_PROFILER,
    ) -> DiarizationResult:
        options = options or DiarizationOptions()
        self.load(profiler)
        waveform = torch.as_tensor(np.asarray(audio, dtype=np.float32)).reshape(1, -1)
        hints = {
            k: v
            for k, v in (
                ("num_speakers", options.num_speakers),
                ("min_speakers", options.min_speakers),
                ("max_speakers", options.max_speakers),
            )
            if v is not None
        }
        with profiler.subprocess("pyannote_pipeline", audio_seconds=round(waveform.shape[1] / sample_rate, 2)):
            output = self._pipeline({"waveform": waveform, "sample_rate": sample_rate}, **hints)
        annotation = getattr(output, "speaker_diarization", output)
        raw = sorted((seg.start, seg.end, label) for seg, _, label in annotation.itertracks(yield_label=True))
        order = list(dict.fromkeys(label for _, _, label in raw))
        names = {label: f"SPEAKER_{i:02d}" for i, label in enumerate(order)}
        turns = tuple(SpeakerTurn(round(s, 3), round(e, 3), names[label]) for s, e, label in raw)
        return DiarizationResult(turns=turns, speakers=tuple(names[x] for x in order), info={"engine": self.name})
