"""Provenance: what made a transcript (tool, model, settings, input digest), and whether outputs are current.

``--skip-existing`` trusts an output only when the settings hash and the input's sha256 recorded in its JSON match
the present run, so a changed setting or a replaced recording is transcribed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import PipelineConfig
from ..diarization.base import DiarizationResult
from ..errors import TherapyBridgeError
from ..types import SCHEMA_VERSION
from ..writers import get_writer


def build_provenance(
    config: PipelineConfig, device_type: str, model: str, model_sha256: str | None,
    diarization: DiarizationResult | None,
) -> dict[str, Any]:
    settings = config.settings()
    settings["device"] = device_type
    if diarization is not None:
        settings["diarization_info"] = {k: v for k, v in diarization.info.items() if _is_plain(v)}
    return {
        "tool_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "model_sha256": model_sha256,
        "settings": settings,
        "settings_hash": settings_hash(config),
    }


def settings_hash(config: PipelineConfig) -> str:
    blob = json.dumps(config.settings(), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob + __version__.encode()).hexdigest()[:16]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_up_to_date(source: str, output_dir: str | Path, formats: Sequence[str], config: PipelineConfig) -> bool:
    """Whether every output of ``source`` exists in ``output_dir`` and its JSON was made from this input with these
    settings (needs the JSON format, which is where that is recorded)."""
    out = Path(output_dir)
    stem = Path(source).stem
    if "json" not in formats:
        return False
    paths = [out / f"{stem}.{ext}" for fmt in formats for ext in get_writer(fmt).file_extensions()]
    if not all(p.is_file() for p in paths):
        return False
    try:
        provenance = json.loads((out / f"{stem}.json").read_text(encoding="utf-8")).get("provenance", {})
        return provenance.get("settings_hash") == settings_hash(config) and provenance.get("input_sha256") == file_sha256(source)
    except (OSError, ValueError, TherapyBridgeError):
        return False


def _is_plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, type(None)))
