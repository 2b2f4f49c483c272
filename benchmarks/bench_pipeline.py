"""End-to-end benchmark: a 23-minute two-speaker session and a batch of five, against the hand-assembled anchor.

Ours is the real command a user runs (`therapybridge transcribe X.mp3 -o DIR`, model loading included, wall time
from command to written outputs). The anchor (`benchmarks/anchors.py`) is bare faster-whisper's batched pipeline
plus senko's diarizer, run one after the other in one process. Both run in this same benchmark, alternating.

Also measured here: `--profile` cost (A/B pairs on a 5-minute recording) and the peak RSS of a 2-hour recording.

Environment knobs (for a quicker look; the published figures use the defaults):
    TB_BENCH_REPEATS   runs per single-file measurement (default 3)
    TB_BENCH_MINUTES   session length in minutes (default 23)
    TB_BENCH_BATCH_MINUTES  length of each of the five batch recordings (default: TB_BENCH_MINUTES)
    TB_BENCH_PAIRS     A/B pairs for the --profile cost (default 5)
    TB_BENCH_SKIP      comma list of parts to skip: tiny,batch,profile,rss
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
EXE = Path(sys.executable).with_name("therapybridge")
REPEATS = int(os.environ.get("TB_BENCH_REPEATS", "3"))
MINUTES = float(os.environ.get("TB_BENCH_MINUTES", "23"))
BATCH_MINUTES = float(os.environ.get("TB_BENCH_BATCH_MINUTES", str(MINUTES)))
PAIRS = int(os.environ.get("TB_BENCH_PAIRS", "5"))
SKIP = set(filter(None, os.environ.get("TB_BENCH_SKIP", "").split(",")))
STAGES = ("Audio Preprocessing", "Whisper Transcription", "Speaker Diarization", "Speaker Alignment", "Writing Outputs")
SEED_FIGURES = {
    "Audio Preprocessing": "60–90 s",
    "Whisper Transcription": "180–240 s (API)",
    "Speaker Diarization": "30–60 s",
    "Speaker Alignment": "5–10 s",
    "Writing Outputs": "—",
    "Total": "275–400 s",
}


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed: {result.stderr[-2000:]}")
    return elapsed, result


def ours(files: list[Path], model: str, out: Path, *extra: str) -> tuple[float, list[dict]]:
    elapsed, _ = timed([str(EXE), "-q", "transcribe", *map(str, files), "-o", str(out), "--model", model,
                        "--no-progress", *extra])
    metrics = [json.loads((out / f"{f.stem}.json").read_text())["performance_metrics"] for f in files]
    return elapsed, metrics


def anchor(files: list[Path], model: str) -> tuple[float, list[dict]]:
    elapsed, result = timed([sys.executable, "-m", "benchmarks.anchors", "--model", model, *map(str, files)])
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return elapsed, lines


def peak_rss_of(command: list[str]) -> tuple[float, float]:
    """Run ``command`` in a wrapper process whose only child it is; returns (seconds, peak RSS in MB)."""
    wrapper = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)"
    )
    output = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, cwd=ROOT)
    seconds, kilobytes, code = output.stdout.split()
    if code != "0":
        raise RuntimeError(f"long-recording run failed: {output.stderr[-2000:]}")
    return float(seconds), int(kilobytes) / 1024


def single_file(path: Path, model: str, repeats: int, work: Path) -> dict:
    ours_times, anchor_times, stage_runs = [], [], []
    for index in range(repeats):  # alternate so drift in machine load hits both sides alike
        elapsed, metrics = ours([path], model, work / f"single-{model}-{index}")
        ours_times.append(elapsed)
        stage_runs.append(metrics[0])
        anchor_times.append(anchor([path], model)[0])
    stages = {name: statistics.median(run["stages"].get(name, {}).get("duration", 0.0) for run in stage_runs)
              for name in STAGES}
    loading = statistics.median(
        sum(max(sp.get("duration", 0.0), (sp.get("metadata") or {}).get("background_load_s", 0.0))
            for st in run["stages"].values()
            for name, sp in st.get("subprocesses", {}).items() if name == "model_loading")
        for run in stage_runs
    )
    return {
        "model": model,
        "ours_s": ours_times,
        "anchor_s": anchor_times,
        "ours_median_s": statistics.median(ours_times),
        "anchor_median_s": statistics.median(anchor_times),
        "ratio": statistics.median(ours_times) / statistics.median(anchor_times),
        "stages_median_s": stages,
        "model_loading_median_s": loading,
    }


def batch(files: list[Path], model: str, work: Path) -> dict:
    ours_s, metrics = ours(files, model, work / "batch")
    anchor_s, lines = anchor(files, model)
    return {"model": model, "files": len(files), "ours_s": ours_s, "anchor_s": anchor_s, "ratio": ours_s / anchor_s,
            "per_file_total_s": [m["total_duration"] for m in metrics],
            "anchor_model_loading_s": lines[0].get("model_loading") if lines else None}


def profile_cost(path: Path, pairs: int, work: Path) -> dict:
    plain, profiled = [], []
    for index in range(pairs):
        plain.append(ours([path], "base", work / f"ab-plain-{index}")[0])
        profiled.append(ours([path], "base", work / f"ab-prof-{index}", "--profile")[0])
    ratios = [p / q for p, q in zip(profiled, plain)]
    return {"plain_s": plain, "profiled_s": profiled, "ratios": ratios, "median_ratio": statistics.median(ratios)}


def machine() -> dict:
    from benchmarks.common import cpu_model

    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "cpu": cpu_model(), "gpu": _gpu_name()}


def _gpu_name() -> str | None:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001
        return None


PART_KEYS = {"tiny": (("single", "tiny.en"),), "batch": (("batch",), ("batch_single",)),
             "profile": (("profile",), ("profile_minutes",)), "rss": (("rss",),)}


def carry_over_skipped_parts(results: dict) -> None:
    """Keep the previous run's figures for the parts skipped this time, and say so in the results."""
    stored = RESULTS / "pipeline.json"
    previous = json.loads(stored.read_text()) if stored.exists() else {}
    carried = []
    for part in sorted(SKIP & PART_KEYS.keys()):
        for path in PART_KEYS[part]:
            source, target = previous, results
            for key in path[:-1]:
                source, target = source.get(key, {}), target.setdefault(key, {})
            if path[-1] in source:
                target[path[-1]] = source[path[-1]]
                carried.append(part)
    if "batch" in carried and "batch_single" not in results and "base" in previous.get("single", {}):
        # An older file measured its batch against that run's single recording: keep the two together.
        results["batch_single"] = previous["single"]["base"]
    if carried:
        results["carried_over"] = sorted(set(carried))


def render(results: dict) -> str:
    single = results["single"]["base"]
    gpu = results["machine"]["gpu"]
    gpu_cell = "n/a" if gpu is None else "see JSON"
    lines = [
        "## End to end (pipeline)",
        "",
        f"`python -m benchmarks.bench_pipeline`: {results['minutes']:.0f}-minute two-speaker session "
        f"(`tests.datagen.session_mp3`: the looped sample's real voices re-sequenced, a speed workload only; 44.1 kHz "
        f"stereo 128 kbps mp3), {results['machine'].get('cpu') or str(results['machine']['cpus']) + ' CPU cores'}, GPU: {gpu or 'none present'}. Ours is `therapybridge transcribe` "
        "(model loading included, command to written outputs); the anchor is bare faster-whisper "
        "`BatchedInferencePipeline` (same model, batch 8, beam 5) plus senko's `Diarizer`, one after the other.",
        "",
        "### The seed's Performance Impact Analysis, measured",
        "",
        "| stage | seed's figure | ours on CPU (median) | ours on GPU |",
        "|---|---|---|---|",
    ]
    for name in STAGES:
        lines.append(f"| {name} | {SEED_FIGURES[name]} | {single['stages_median_s'][name]:.1f} s | {gpu_cell} |")
    lines.append(f"| **Total (wall, command to outputs)** | {SEED_FIGURES['Total']} | "
                 f"**{single['ours_median_s']:.1f} s** | {gpu_cell} |")
    lines += ["", "### Against the hand-assembled anchor", "",
              "| run | model | ours | anchor | ours / anchor |", "|---|---|---|---|---|"]
    for model, row in results["single"].items():
        lines.append(f"| one recording (median of {len(row['ours_s'])}) | {model} | {row['ours_median_s']:.1f} s | "
                     f"{row['anchor_median_s']:.1f} s | {row['ratio']:.2f} |")
    if "batch" in results:
        b = results["batch"]
        reference = results.get("batch_single", single)
        single_s = reference["ours_median_s"]
        budget = 5 * single_s - 4 * reference["model_loading_median_s"]
        lines.append(f"| batch of {b['files']} × {results['batch_minutes']:.0f} min | {b['model']} | {b['ours_s']:.1f} s | "
                     f"{b['anchor_s']:.1f} s | {b['ratio']:.2f} |")
        lines += ["", f"Batch budget (5 × a single {results['batch_minutes']:.0f}-minute run of {single_s:.1f} s − 4 "
                      f"model loads of {reference['model_loading_median_s']:.1f} s): {budget:.1f} s; the batch took "
                      f"{b['ours_s']:.1f} s ({b['ours_s'] / budget:.2f} × budget)."]
    if "profile" in results:
        p = results["profile"]
        lines += ["", f"`--profile` cost, {len(p['ratios'])} A/B pairs on a {results['profile_minutes']:.0f}-minute "
                      f"recording: median ratio {p['median_ratio']:.3f} "
                      f"(plain {statistics.median(p['plain_s']):.1f} s, profiled {statistics.median(p['profiled_s']):.1f} s)."]
    if "rss" in results:
        r = results["rss"]
        lines += ["", f"2-hour recording (realistic-corpus sessions joined, `tests.corpus.build.concatenated_sessions`), default settings (model "
                      f"{r['model']}, diarization on): completed in {r['seconds']:.0f} s with peak RSS {r['peak_rss_mb']:.0f} MB (limit 3072 MB)."]
    if results.get("carried_over"):
        lines += ["", f"Not rerun this time, figures from the previous run: {', '.join(results['carried_over'])}."]
    lines += ["", "A performance report of a run like this one: "
                  "[benchmarks/results/pipeline-report.perf.html](benchmarks/results/pipeline-report.perf.html).", ""]
    return "\n".join(lines)


def main() -> int:
    from tests.corpus.build import concatenated_sessions
    from tests.datagen import session_mp3

    RESULTS.mkdir(parents=True, exist_ok=True)
    batch_files = [session_mp3(minutes=BATCH_MINUTES, seed=seed)[0] for seed in range(5)]
    files = batch_files if BATCH_MINUTES == MINUTES else [session_mp3(minutes=MINUTES, seed=0)[0]]
    results: dict = {"machine": machine(), "minutes": MINUTES, "batch_minutes": BATCH_MINUTES, "single": {}}
    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp:
        work = Path(tmp)
        results["single"]["base"] = single_file(files[0], "base", REPEATS, work)
        print(json.dumps(results["single"]["base"]), flush=True)
        if "tiny" not in SKIP:
            results["single"]["tiny.en"] = single_file(files[0], "tiny.en", 1, work)
        if "batch" not in SKIP:
            results["batch"] = batch(batch_files, "base", work)
            if BATCH_MINUTES != MINUTES:
                results["batch_single"] = single_file(batch_files[0], "base", 1, work)
            print(json.dumps(results["batch"]), flush=True)
        if "profile" not in SKIP:
            short, _ = session_mp3(minutes=5.0, seed=11)
            results["profile"] = profile_cost(short, PAIRS, work)
            results["profile_minutes"] = 5.0
        report_dir = work / "report"
        ours([files[0]], "base", report_dir, "--profile")
        for suffix in (".perf.html", ".perf.json"):
            source = report_dir / f"{files[0].stem}{suffix}"
            (RESULTS / f"pipeline-report{suffix}").write_bytes(source.read_bytes())
        if "rss" not in SKIP:
            long_input = concatenated_sessions(hours=2.0).wav
            seconds, peak = peak_rss_of([str(EXE), "-q", "transcribe", str(long_input), "-o", str(work / "long"),
                                         "--no-progress", "--format", "json"])
            results["rss"] = {"model": "base", "seconds": seconds, "peak_rss_mb": peak}
    carry_over_skipped_parts(results)
    (RESULTS / "pipeline.json").write_text(json.dumps(results, indent=2))
    (RESULTS / "pipeline.md").write_text(render(results))
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
