"""The service's options: one frozen dataclass for the server, one for a job's transcription settings."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError

RESULT_FORMATS = ("json", "txt", "srt", "vtt", "rttm", "html", "analytics")
DEFAULT_JOB_FORMATS = ("json", "txt", "srt", "vtt")
DATA_DIR_ENV = "THERAPYBRIDGE_SERVER_DIR"


def default_data_dir() -> Path:
    """``$THERAPYBRIDGE_SERVER_DIR`` or ``<user data dir>/server``."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("therapybridge")) / "server"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerOptions:
    """Everything ``therapybridge serve`` is started with."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = field(default_factory=lambda: str(default_data_dir()))
    workers: int = 1
    model: str = "base"
    device: str = "cpu"
    cpu_threads: int = 0
    sync_max_seconds: float = 300.0
    max_upload_mb: float = 2048.0
    retention_days: float = 7.0
    keep_audio: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    profiles_dir: str | None = None
    poll_interval: float = 0.05
    max_attempts: int = 2  # the first run and one retry after a crash

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigurationError(f"--workers must be at least 1, got {self.workers}")
        if not 0 <= self.port <= 65535:
            raise ConfigurationError(f"--port must be between 0 and 65535, got {self.port}")
        if self.sync_max_seconds <= 0 or self.max_upload_mb <= 0 or self.retention_days < 0:
            raise ConfigurationError("--sync-max-seconds and --max-upload-mb must be positive, --retention-days >= 0")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigurationError("give both --tls-cert and --tls-key, or neither")

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def retention_seconds(self) -> float:
        return self.retention_days * 86400.0

    def insecure_binding_warning(self) -> str | None:
        """The warning to print when the service listens beyond this machine without TLS (None when it does not)."""
        if is_loopback(self.host) or self.tls:
            return None
        return (
            f"serving on {self.host} without TLS: bearer tokens, therapy recordings and transcripts cross the network "
            "in clear text, readable and replayable by anyone on it; bind 127.0.0.1 or give --tls-cert/--tls-key"
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ServerOptions":
        return cls(**data)


@dataclass(frozen=True)
class JobOptions:
    """A job's transcription settings: the CLI's options that make sense per recording."""

    model: str | None = None
    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    formats: tuple[str, ...] = DEFAULT_JOB_FORMATS
    roles: bool = True
    diarization: bool = True
    language: str | None = None
    prompt: str | None = None

    def __post_init__(self) -> None:
        for name in ("num_speakers", "min_speakers", "max_speakers"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 64:
                raise ConfigurationError(f"{name} must be between 1 and 64, got {value}")
        if self.num_speakers is not None and (self.min_speakers is not None or self.max_speakers is not None):
            raise ConfigurationError("give either speakers or min_speakers/max_speakers, not both")
        if self.min_speakers is not None and self.max_speakers is not None and self.min_speakers > self.max_speakers:
            raise ConfigurationError("min_speakers must not exceed max_speakers")
        unknown = [f for f in self.formats if f not in RESULT_FORMATS]
        if unknown or not self.formats:
            raise ConfigurationError(
                f"unknown format(s) {', '.join(unknown) or '(none)'}; choose from {','.join(RESULT_FORMATS)}"
            )
        if self.language is not None and not (1 <= len(self.language) <= 8 and self.language.isalpha()):
            raise ConfigurationError("language must be a language code such as en")

    @classmethod
    def parse_formats(cls, value: str | None) -> tuple[str, ...]:
        if value is None or not value.strip():
            return DEFAULT_JOB_FORMATS
        return tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["formats"] = list(self.formats)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JobOptions":
        data = dict(data)
        if "formats" in data:
            data["formats"] = tuple(data["formats"])
        return cls(**data)
