"""``PipelineConfig``: one options object per stage, plus the choices that span stages."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .align import AlignOptions
from .asr.base import TranscribeOptions
from .audio import PreprocessOptions
from .diarization.base import DiarizationOptions
from .errors import ConfigurationError

BACKENDS = ("local", "openai")


@dataclass(frozen=True)
class PerfOptions:
    """Performance logging: always-on stage timings; reports and GPU sampling when ``enabled``."""

    enabled: bool = False
    output_dir: str | None = None
    gpu_monitoring: bool = True
    verbose: bool = False
    redact_paths: bool = False
    sample_interval: float = 0.5


@dataclass(frozen=True)
class RoleOptions:
    """Therapist/client labelling from enrolled voice profiles."""

    enabled: bool = True
    profiles_dir: str | None = None


@dataclass(frozen=True)
class PipelineConfig:
    """Everything a run needs; build it from keyword arguments, a dict or a TOML file."""

    audio: PreprocessOptions = field(default_factory=PreprocessOptions)
    asr: TranscribeOptions = field(default_factory=TranscribeOptions)
    diarization: DiarizationOptions = field(default_factory=DiarizationOptions)
    align: AlignOptions = field(default_factory=AlignOptions)
    perf: PerfOptions = field(default_factory=PerfOptions)
    roles: RoleOptions = field(default_factory=RoleOptions)
    device: str = "auto"
    backend: str = "local"
    diarizer: str = "default"
    enable_diarization: bool = True
    allow_remote: bool = False
    concurrent_stages: str = "auto"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigurationError(f"unknown backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        if self.concurrent_stages not in ("auto", "on", "off"):
            raise ConfigurationError(f"concurrent_stages must be auto, on or off, not {self.concurrent_stages!r}")

    def replace(self, **changes: Any) -> "PipelineConfig":
        """A copy with top-level fields or ``stage__field`` keys changed (``asr__model="tiny.en"``)."""
        nested: dict[str, dict[str, Any]] = {}
        top: dict[str, Any] = {}
        for key, value in changes.items():
            if "__" in key:
                stage, name = key.split("__", 1)
                nested.setdefault(stage, {})[name] = value
            else:
                top[key] = value
        for stage, values in nested.items():
            current = getattr(self, stage, None)
            if current is None or not dataclasses.is_dataclass(current):
                raise ConfigurationError(f"unknown configuration section {stage!r}")
            try:
                top[stage] = dataclasses.replace(current, **values)
            except TypeError as exc:
                raise ConfigurationError(f"unknown option in section {stage!r}: {exc}") from exc
        try:
            return dataclasses.replace(self, **top)
        except TypeError as exc:
            raise ConfigurationError(f"unknown configuration option: {exc}") from exc

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PipelineConfig":
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, dict):
                flat.update({f"{key}__{name}": v for name, v in value.items()})
            else:
                flat[key] = value
        return cls().replace(**flat)

    @classmethod
    def from_toml(cls, path: str | Path) -> "PipelineConfig":
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except OSError as exc:
            raise ConfigurationError(f"cannot read configuration file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"configuration file {path} is not valid TOML: {exc}") from exc
        return cls.from_dict(data)

    def settings(self) -> dict[str, Any]:
        """The settings that shape the transcript (for provenance and --skip-existing keys); no secrets, no paths."""
        return {
            "backend": self.backend,
            "diarizer": self.diarizer if self.enable_diarization else None,
            "enable_diarization": self.enable_diarization,
            "audio": _public(self.audio),
            "asr": _public(self.asr),
            "diarization": _public(self.diarization),
            "align": _public(self.align),
        }


def _public(options: Any) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(options).items() if not k.startswith("_")}
