"""The performance report of a Ray run: per-worker utilisation, queue wait, per-stage totals, per-file costs."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import OutputError


@dataclass(frozen=True)
class FileRecord:
    """One finished input: who ran it, when (epoch seconds), and what it cost."""

    index: int
    worker: str
    node: str
    submitted: float
    started: float
    finished: float
    cpu_s: float
    audio_s: float
    attempts: int
    ok: bool
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def queue_wait_s(self) -> float:
        return max(self.started - self.submitted, 0.0)

    @property
    def busy_s(self) -> float:
        return max(self.finished - self.started, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "worker": self.worker, "node": self.node, "submitted": self.submitted,
                "started": self.started, "finished": self.finished, "queue_wait_s": round(self.queue_wait_s, 3),
                "busy_s": round(self.busy_s, 3), "cpu_s": round(self.cpu_s, 3), "audio_s": round(self.audio_s, 3),
                "attempts": self.attempts, "ok": self.ok, "stages": {k: round(v, 3) for k, v in self.stages.items()}}


@dataclass(frozen=True)
class ClusterReport:
    """Everything the driver saw of a run; ``wall_s`` from the first submission to the last result."""

    records: tuple[FileRecord, ...]
    workers: tuple[dict[str, Any], ...]
    wall_s: float
    startup_s: float
    retries: int
    cpus_per_worker: int

    def per_worker(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for info in self.workers:
            mine = [r for r in self.records if r.worker == info["worker"]]
            busy = sum(r.busy_s for r in mine)
            out[info["worker"]] = {
                "node": info.get("node"), "files": len(mine), "busy_s": round(busy, 3),
                "utilisation": round(busy / self.wall_s, 3) if self.wall_s > 0 else 0.0,
                "load_s": round(float(info.get("load_s", 0.0)), 3), "device": info.get("device"),
            }
        return out

    def stage_totals(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for record in self.records:
            for name, seconds in record.stages.items():
                totals[name] = totals.get(name, 0.0) + seconds
        return {k: round(v, 3) for k, v in totals.items()}

    def to_dict(self) -> dict[str, Any]:
        done = [r for r in self.records if r.ok]
        audio = sum(r.audio_s for r in done)
        waits = [r.queue_wait_s for r in self.records]
        cpu = sum(r.cpu_s for r in done)
        return {
            "files": len(self.records), "files_ok": len(done), "retries": self.retries,
            "wall_s": round(self.wall_s, 3), "startup_s": round(self.startup_s, 3), "audio_s": round(audio, 3),
            "audio_hours_per_hour": round(audio / self.wall_s, 3) if self.wall_s > 0 else 0.0,
            "cpu_s_per_audio_hour": round(cpu / audio * 3600, 1) if audio > 0 else None,
            "queue_wait_s": {"median": round(statistics.median(waits), 3) if waits else 0.0,
                             "max": round(max(waits), 3) if waits else 0.0},
            "cpus_per_worker": self.cpus_per_worker,
            "workers": self.per_worker(), "stages": self.stage_totals(),
            "files_detail": [r.to_dict() for r in self.records],
        }

    def render_text(self) -> str:
        data = self.to_dict()
        lines = [
            "Ray run", f"  files {data['files_ok']}/{data['files']} ok, retries {data['retries']}",
            f"  wall {data['wall_s']:.1f}s (start-up {data['startup_s']:.1f}s), audio {data['audio_s']:.1f}s, "
            f"{data['audio_hours_per_hour']:.1f}x real time",
            f"  queue wait median {data['queue_wait_s']['median']:.2f}s, max {data['queue_wait_s']['max']:.2f}s",
            "Workers",
        ]
        for index, (name, info) in enumerate(sorted(data["workers"].items())):
            lines.append(f"  worker {index + 1} ({name[:8]}, node {str(info['node'])[:8]}, {info['device']}): "
                         f"{info['files']} files, busy {info['busy_s']:.1f}s, utilisation {info['utilisation']:.0%}, "
                         f"models loaded in {info['load_s']:.1f}s")
        lines.append("Stages (summed over files)")
        lines.extend(f"  {name}: {seconds:.1f}s" for name, seconds in data["stages"].items())
        return "\n".join(lines) + "\n"

    def write(self, output_dir: str | Path, stem: str = "cluster") -> tuple[Path, ...]:
        """``<stem>.perf.json`` and ``<stem>.perf.txt`` in ``output_dir``, each written to a temporary name first."""
        out = Path(output_dir)
        paths = (out / f"{stem}.perf.json", out / f"{stem}.perf.txt")
        contents = (json.dumps(self.to_dict(), indent=2) + "\n", self.render_text())
        try:
            out.mkdir(parents=True, exist_ok=True)
            for path, text in zip(paths, contents):
                handle, temp = tempfile.mkstemp(dir=out, prefix=f".{path.name}.", suffix=".tmp")
                with os.fdopen(handle, "w", encoding="utf-8") as stream:
                    stream.write(text)
                os.replace(temp, path)
        except OSError as exc:
            raise OutputError(f"cannot write the Ray performance report in {out}: {exc.strerror or exc}") from exc
        return paths
