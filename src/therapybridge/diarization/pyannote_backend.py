"""Optional backend: pyannote.audio's speaker-diarization pipeline, when the user has installed it and its weights.

Telemetry is switched off before pyannote is imported. The pipeline is read from ``THERAPYBRIDGE_PYANNOTE_PIPELINE``
(a local directory or config.yaml, or a hub name the user has already cached); nothing is downloaded by us.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import torch

from ..errors import DependencyError, ModelNotFoundError
from ..perf.hooks import NULL_PROFILER, StageProfiler
from ..types import SpeakerTurn
from .base import DiarizationOptions, DiarizationResult, Diarizer

log = logging.getLogger(__name__)

DEFAULT_PIPELINE = "pyannote/speaker-diarization-3.1"


def pyannote_available() -> bool:
    """Whether pyannote.audio can be imported (with telemetry off)."""
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
    try:
        import pyannote.audio  # noqa: F401
    except Exception:
        return False
    return True


class PyannoteDiarizer(Diarizer):
    name = "pyannote"

    def __init__(self, device: torch.device | str = "cpu", pipeline: str | None = None) -> None:
        self.device = torch.device(device)
        self.source = pipeline or os.environ.get("THERAPYBRIDGE_PYANNOTE_PIPELINE", DEFAULT_PIPELINE)
        self._pipeline = None

    def load(self, profiler: StageProfiler = NULL_PROFILER) -> None:
        if self._pipeline is not None:
            return
        if not pyannote_available():
            raise DependencyError("the pyannote backend needs pyannote.audio: pip install 'therapybridge[pyannote]'")
        from pyannote.audio import Pipeline

        with profiler.subprocess("model_loading", engine=self.name, device=str(self.device)):
            try:
                pipeline = Pipeline.from_pretrained(self.source)
            except Exception as exc:
                raise ModelNotFoundError(
                    f"could not load the pyannote pipeline {self.source!r}; set THERAPYBRIDGE_PYANNOTE_PIPELINE to "
                    "a local copy of its weights"
                ) from exc
            if pipeline is None:
                raise ModelNotFoundError(f"pyannote pipeline {self.source!r} is not available offline")
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
