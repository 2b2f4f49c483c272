"""``RayOptions``: where the cluster is, how many workers, how inputs travel, how often a lost file is retried."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ConfigurationError

TRANSPORTS = ("auto", "path", "bytes")


@dataclass(frozen=True)
class RayOptions:
    """Options of a Ray run.

    ``address``: ``None`` starts a local cluster, ``"auto"`` joins the running one, anything else is a Ray address.
    ``workers``: actors in the pool (default: one per GPU when the cluster has GPUs, else one per
    ``cpus_per_worker`` CPUs). ``transport``: ``path`` sends file names (shared filesystem), ``bytes`` sends the
    recording through the object store, ``auto`` sends the name and falls back to the bytes for a worker that
    cannot read the same file. ``max_retries``: how many times a file whose worker or node died is tried again.
    ``worker_wait_s``: how long to wait for a replacement when every worker is gone.
    """

    address: str | None = None
    workers: int | None = None
    cpus_per_worker: int = 1
    use_gpus: bool | None = None  # None: when the cluster has GPUs
    transport: str = "auto"
    max_retries: int = 2
    worker_wait_s: float = 120.0

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ConfigurationError(f"unknown transport {self.transport!r}; choose from {', '.join(TRANSPORTS)}")
        if self.workers is not None and self.workers < 1:
            raise ConfigurationError(f"workers must be 1 or more, got {self.workers}")
        if self.cpus_per_worker < 1:
            raise ConfigurationError(f"cpus_per_worker must be 1 or more, got {self.cpus_per_worker}")
        if self.max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, got {self.max_retries}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
