"""What every benchmark shares: where results go, the shared real recordings, word errors pooled over files, and
the machine description that goes beside every table (CPU model included: machines of one kind do not all have the same CPU)."""

from __future__ import annotations

import argparse
import json
import os
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SHARED_DATA = Path(os.environ.get("THERAPYBRIDGE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def cpu_model() -> str:
    """The CPU's model name and whether it has AVX-512 (from /proc/cpuinfo where there is one)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")),
                platform.machine())
    return f"{name} ({os.cpu_count()} cores, {'AVX-512' if 'avx512f' in info else 'no AVX-512'})"


def machine() -> dict[str, Any]:
    return {"cpu": cpu_model(), "platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "load_average": os.getloadavg()}


def write_results(name: str, result: dict, markdown: str) -> None:
    """``benchmarks/results/<name>.json`` and ``<name>.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=float) + "\n", encoding="utf-8")
    (RESULTS / f"{name}.md").write_text(markdown, encoding="utf-8")


def corpus_parser(doc: str | None) -> argparse.ArgumentParser:
    """The arguments every realistic-corpus benchmark takes: which half, which sessions, which model."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="eval", choices=["dev", "eval"])
    parser.add_argument("--sessions", nargs="*", default=None)
    parser.add_argument("--model", default="base")
    return parser


def pooled_word_errors(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Word errors pooled over files (each row: ``ref_words``, ``substitutions``, ``deletions``, ``insertions``):
    the counts summed, and WER, deletions and insertions as shares of all the files' reference words."""
    rows = list(rows)
    ref = sum(r["ref_words"] for r in rows)
    deletions, insertions = sum(r["deletions"] for r in rows), sum(r["insertions"] for r in rows)
    errors = sum(r["substitutions"] for r in rows) + deletions + insertions

    def share(count: int) -> float:
        return count / ref if ref else 0.0

    return {"ref_words": ref, "errors": errors, "deletions": deletions, "insertions": insertions,
            "wer": share(errors), "del": share(deletions), "ins": share(insertions)}


def parse_setting(text: str) -> tuple[str, Any]:
    """``STAGE__FIELD=VALUE`` from the command line as a pipeline setting: numbers as numbers, true/false as
    booleans, none/off as None."""
    key, _, value = text.partition("=")
    if value.lower() in ("none", "off"):
        return key, None
    if value.lower() in ("true", "false"):
        return key, value.lower() == "true"
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value
