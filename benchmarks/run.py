"""`make bench`: run every benchmark module, then stitch their markdown sections into BENCHMARKS.md.

Each ``benchmarks/bench_<area>.py`` writes ``benchmarks/results/<area>.json`` and ``<area>.md``. They run one
after the other in fresh processes so one benchmark's warm caches and threads never flatter another's.

    python -m benchmarks.run                 # everything
    python -m benchmarks.run audio align     # only these areas (BENCHMARKS.md still lists every stored result)
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
ORDER = ["corpus", "accuracy", "perf", "audio", "align", "asr", "diarization", "pipeline"]


def available_areas() -> list[str]:
    found = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "benchmarks").glob("bench_*.py"))
    return [a for a in ORDER if a in found] + [a for a in found if a not in ORDER]


def run_area(area: str) -> int:
    print(f"== benchmark: {area}", flush=True)
    started = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", f"benchmarks.bench_{area}"], cwd=ROOT)
    print(f"== {area}: exit {code} after {time.perf_counter() - started:.0f}s", flush=True)
    return code


def _dated(section: Path) -> str:
    """A section with the date its figures were last committed, so an older figure says that it is older."""
    text = section.read_text(encoding="utf-8").rstrip() + "\n"
    result = section.with_suffix(".json")
    dated = subprocess.run(["git", "log", "-1", "--format=%cs %h", "--", str(result)], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    changed = subprocess.run(["git", "status", "--porcelain", "--", str(result)], cwd=ROOT,
                             capture_output=True, text=True).stdout.strip()
    when = "measured in this run (not yet committed)" if changed or not dated else f"figures committed {dated}"
    title, _, rest = text.partition("\n")
    return f"{title}\n\n_{when}; `benchmarks/results/{result.name}`._\n{rest}"


def stitch() -> Path:
    sections = [RESULTS / f"{a}.md" for a in available_areas() if (RESULTS / f"{a}.md").exists()]
    header = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks.run`); each section comes from `benchmarks/results/<area>.md`",
        "and its raw figures from `<area>.json`. Every comparison runs its anchor in the same run and reports a ratio:",
        "the machines are shared and noisy, so ratios matter more than absolute seconds.",
        "",
        f"Last stitched on {platform.node() or 'this machine'} ({platform.machine()}, Python {platform.python_version()}).",
        "",
    ]
    body = [_dated(p) for p in sections]
    target = ROOT / "BENCHMARKS.md"
    target.write_text("\n".join(header) + "\n" + "\n".join(body), encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("areas", nargs="*", help=f"areas to run (default: all of {', '.join(available_areas())})")
    parser.add_argument("--stitch-only", action="store_true", help="only rebuild BENCHMARKS.md from stored results")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    failures = []
    if not args.stitch_only:
        # The realistic-sessions corpus is built once, up front (cached), so no benchmark times its construction.
        if subprocess.call([sys.executable, "-m", "tests.corpus.build"], cwd=ROOT) != 0:
            failures.append("corpus build")
        for area in args.areas or available_areas():
            if run_area(area) != 0:
                failures.append(area)
    print(f"wrote {stitch()}")
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
