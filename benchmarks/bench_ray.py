"""Ray archives (issue #18): a pool of Ray actors against ``process_many`` on the same files, and Ray's start-up.

    python -m benchmarks.bench_ray [--files 6] [--startup-runs 5] [--models tiny.en,base]

Throughput: ``--files`` recordings (the bundled 30 s sample under several names) through
``AudioTranscriptionPipeline.process_many`` (models loaded before the clock starts, all cores) and through a
2-actor pool on a local Ray cluster (one core each), audio seconds per wall second from the first file handed out
to the last result. The per-file costs the capacity model in ``docs/ray.md`` uses come from the pool's workers:
CPU seconds (process CPU time of the worker, all its threads) per audio hour, for each model.

Start-up: ``therapybridge transcribe`` on one 10 s clip, a local run and a ``--ray`` run (a new local cluster, one
worker) as a user types them, each a fresh process; the fixed cost of Ray is the median difference.

Writes ``benchmarks/results/ray.json`` and ``ray.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, machine, write_results

SAMPLE = ROOT / "tests" / "data" / "sample.wav"
THREADS_TOML = "[asr]\ncpu_threads = 1\n"


def _inputs(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"session{index:02d}.wav"
        shutil.copyfile(SAMPLE, path)
        paths.append(str(path))
    return paths


def _audio_s(items: list[Any]) -> float:
    return sum(item.transcript.audio.duration for item in items if item.ok)


def local_throughput(files: list[str], model: str, out: Path) -> dict[str, Any]:
    from therapybridge import AudioTranscriptionPipeline

    pipeline = AudioTranscriptionPipeline(device="cpu", asr__model=model).load()
    started, cpu = time.perf_counter(), time.process_time()
    items = list(pipeline.process_many(files, output_dir=out, formats=("json",)))
    wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    audio = _audio_s(items)
    return {"files": len(items), "ok": sum(i.ok for i in items), "wall_s": round(wall, 2), "audio_s": audio,
            "audio_s_per_s": round(audio / wall, 3), "cpu_s_per_audio_hour": round(cpu_s / audio * 3600, 1)}


def ray_throughput(files: list[str], model: str, out: Path, workers: int) -> dict[str, Any]:
    import ray

    from therapybridge import AudioTranscriptionPipeline
    from therapybridge.distributed import RayArchive, RayOptions

    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        archive = RayArchive(AudioTranscriptionPipeline(device="cpu", asr__model=model), RayOptions(workers=workers))
        started = time.perf_counter()
        items = list(archive.process_many(files, output_dir=out, formats=("json",)))
        end_to_end = time.perf_counter() - started
    finally:
        ray.shutdown()
    report = archive.report.to_dict()
    audio = _audio_s(items)
    per_file = [r for r in report["files_detail"] if r["ok"]]
    return {
        "files": len(items), "ok": sum(i.ok for i in items), "workers": workers, "wall_s": report["wall_s"],
        "end_to_end_s": round(end_to_end, 2), "audio_s": audio,
        "audio_s_per_s": round(audio / report["wall_s"], 3),
        "cpu_s_per_audio_hour": report["cpu_s_per_audio_hour"],
        "busy_s_per_audio_hour": round(sum(r["busy_s"] for r in per_file) / audio * 3600, 1),
        "model_load_s": [round(w["load_s"], 2) for w in report["workers"].values()],
        "utilisation": [w["utilisation"] for w in report["workers"].values()],
        "queue_wait_s": report["queue_wait_s"], "stages": report["stages"],
    }


def _cli(args: list[str]) -> float:
    exe = Path(sys.executable).with_name("therapybridge")
    started = time.perf_counter()
    done = subprocess.run([str(exe), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"therapybridge {' '.join(args)} failed: {done.stderr[-500:]}")
    return time.perf_counter() - started


def startup(folder: Path, runs: int) -> dict[str, Any]:
    from tests.datagen import read_wav, write_wav

    audio, rate = read_wav(SAMPLE)
    clip = folder / "clip10s.wav"
    write_wav(clip, audio[: 10 * rate], rate)
    config = folder / "threads.toml"
    config.write_text(THREADS_TOML, encoding="utf-8")
    common = [str(clip), "--model", "tiny.en", "--device", "cpu", "--config", str(config), "--format", "json",
              "--no-progress"]
    local, distributed = [], []
    for run in range(runs):  # alternating, so a change in the machine's load falls on both
        local.append(_cli(["transcribe", *common, "-o", str(folder / f"local{run}")]))
        distributed.append(_cli(["transcribe", *common, "-o", str(folder / f"ray{run}"), "--ray"]))
    differences = [ray_s - local_s for ray_s, local_s in zip(distributed, local)]
    return {"runs": runs, "local_s": [round(x, 2) for x in local], "ray_s": [round(x, 2) for x in distributed],
            "overhead_s_median": round(statistics.median(differences), 2),
            "overhead_s": [round(x, 2) for x in differences]}


def markdown(result: dict[str, Any]) -> str:
    lines = ["## Ray archives", "", f"Machine: {result['machine']['cpu']}, {result['machine']['cpus']} CPUs, load "
             f"average at start {result['machine']['load_average'][0]:.1f}.", "",
             "| model | runner | files | wall s | audio s / s | CPU s per audio hour |", "|---|---|---|---|---|---|"]
    for model, rows in result["throughput"].items():
        for name in ("process_many", "ray"):
            row = rows[name]
            lines.append(f"| {model} | {name} | {row['files']} | {row['wall_s']} | {row['audio_s_per_s']} | "
                         f"{row['cpu_s_per_audio_hour']} |")
        lines.append(f"| {model} | ratio ray / process_many | | | {rows['ratio']} | |")
    s = result["startup"]
    lines += ["", f"Start-up (one 10 s file, CLI, median of {s['runs']}): local {statistics.median(s['local_s']):.1f}s, "
              f"--ray {statistics.median(s['ray_s']):.1f}s, Ray's fixed cost {s['overhead_s_median']:.1f}s "
              f"(target <= 5 s).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--models", default="tiny.en,base")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine(), "files": args.files, "throughput": {}}
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        folder = Path(tmp)
        files = _inputs(folder / "inputs", args.files)
        for model in args.models.split(","):
            local = local_throughput(files, model, folder / f"local-{model}")
            remote = ray_throughput(files, model, folder / f"ray-{model}", args.workers)
            result["throughput"][model] = {"process_many": local, "ray": remote,
                                           "ratio": round(remote["audio_s_per_s"] / local["audio_s_per_s"], 3)}
            print(model, result["throughput"][model], flush=True)
        result["startup"] = startup(folder, args.startup_runs)
        print(result["startup"], flush=True)
    result["load_average_end"] = list(os.getloadavg())
    write_results("ray", result, markdown(result))


if __name__ == "__main__":
    main()
