"""``PipelineConfig``: one options object per stage, plus the choices that span stages."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .align import AlignOptions
from .analytics.model import AnalyticsOptions
from .asr.base import TranscribeOptions
from .audio import PreprocessOptions
from .diarization.base import DiarizationOptions
from .errors import ConfigurationError

BACKENDS = ("local", "openai")

# Environment variables that set a configuration value (documented in the README and the CLI help). In the layers of
# ``PipelineConfig.layered`` they sit above the configuration file and below the options a caller passes.
ENVIRONMENT: dict[str, str] = {
    "THERAPYBRIDGE_ALLOW_REMOTE": "allow_remote",
    "THERAPYBRIDGE_PROFILES_DIR": "roles__profiles_dir",
}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


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
    analytics: AnalyticsOptions = field(default_factory=AnalyticsOptions)
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
    def layered(
        cls,
        path: str | Path | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> "PipelineConfig":
        """Built-in defaults < the TOML file at ``path`` < ``ENVIRONMENT`` variables < ``overrides`` (``stage__field``)."""
        config = cls.from_toml(path) if path else cls()
        config = config.replace(**environment_settings(os.environ if environ is None else environ))
        return config.replace(**dict(overrides or {}))

    @classmethod
    def key_for(cls, name: str) -> str:
        """The ``replace()`` key of the option called ``name``: a top-level field or the one stage field of that name."""
        if name in _TOP_LEVEL:
            return name
        found = [f"{stage}__{name}" for stage, fields in _STAGE_FIELDS.items() if name in fields]
        if len(found) != 1:
            raise ConfigurationError(f"no single configuration option is called {name!r} ({', '.join(found) or 'none'})")
        return found[0]

    def get(self, key: str) -> Any:
        """The value at a ``replace()`` key (``"asr__model"`` or ``"device"``)."""
        stage, _, name = key.partition("__")
        return getattr(getattr(self, stage), name) if name else getattr(self, stage)

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
            "analytics": _public(self.analytics),
        }


def environment_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``replace()`` keys set by the ``ENVIRONMENT`` variables present (and not empty) in ``environ``."""
    defaults = PipelineConfig()
    settings: dict[str, Any] = {}
    for variable, key in ENVIRONMENT.items():
        raw = environ.get(variable, "").strip()
        if not raw:
            continue
        if isinstance(defaults.get(key), bool):
            if raw.lower() not in _TRUE + _FALSE:
                raise ConfigurationError(f"{variable} must be 1 or 0, not {raw!r}")
            settings[key] = raw.lower() in _TRUE
        else:
            settings[key] = raw
    return settings


def _public(options: Any) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(options).items() if not k.startswith("_")}


_STAGE_FIELDS: dict[str, frozenset[str]] = {
    f.name: frozenset(g.name for g in dataclasses.fields(f.default_factory()))  # type: ignore[misc]
    for f in dataclasses.fields(PipelineConfig)
    if f.default_factory is not dataclasses.MISSING
}
_TOP_LEVEL = frozenset(f.name for f in dataclasses.fields(PipelineConfig)) - set(_STAGE_FIELDS)
