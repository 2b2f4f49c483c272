"""Audio preprocessing: every step on CPU (and CUDA when present) against two anchors run in the same process.

The file is the 23-minute two-speaker session re-sequenced from the sample's real voices, encoded like a recorder
would (44.1 kHz stereo 128 kbps mp3, ``tests.datagen.session_mp3``). Anchors:

- the ffmpeg CLI floor: ``ffmpeg -i X -ac 1 -ar 16000 -f f32le -`` (decode + mono + 16 kHz, nothing else), read
  into NumPy;
- the seed's pydub chain: load, set_channels(1), set_frame_rate(16000), trim leading/trailing silence,
  detect_nonsilent + cut long pauses, normalize, export a WAV.

Runs are interleaved (ffmpeg, ours, pydub, ffmpeg, ours, …) so drifts in a shared machine's load hit all alike;
medians of ``--runs`` runs. Wall and CPU seconds are both reported (CPU time is steadier on a busy machine).

    .venv/bin/python -m benchmarks.bench_audio               # 3 runs, about 2-3 minutes on 2 cores
    .venv/bin/python -m benchmarks.bench_audio --runs 5 --minutes 23
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import cpu_model
from tests.datagen import session_mp3

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "benchmarks" / "results"
STEPS = ("load_audio", "downmix", "sample_rate_conversion", "silence_detection", "trim", "normalization")
TARGET_VS_FFMPEG = 1.2
TARGET_VS_PYDUB = 8.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ------------------------------------------------------------------ the three contenders


def run_ffmpeg(path: Path) -> dict[str, float]:
    cpu = _children_cpu()
    started = time.perf_counter()
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-ac", "1", "-ar", "16000", "-f", "f32le", "-"],
        check=True,
        capture_output=True,
    ).stdout
    samples = np.frombuffer(raw, dtype=np.float32)
    return {"total": time.perf_counter() - started, "cpu": _children_cpu() - cpu, "samples": float(samples.size)}


def run_ours(path: Path, device: str) -> dict[str, float]:
    from therapybridge.audio import preprocess

    cpu = time.process_time()
    started = time.perf_counter()
    prepared = preprocess(path, device=device)
    total = time.perf_counter() - started
    result = {step.name: step.seconds for step in prepared.steps}
    for step in prepared.steps:  # work done on the second core while decoding (CPU path)
        result[f"{step.name}_overlapped"] = float(step.metadata.get("overlapped_seconds", 0.0))
    result.update(total=total, cpu=time.process_time() - cpu, kept_seconds=prepared.duration)
    return result


def time_operations(path: Path, device: str, repeats: int) -> dict[str, float]:
    """Each operation alone on the already decoded recording (the seed's per-operation question), median seconds."""
    import torch

    from therapybridge.audio import decode_audio, ops

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    stereo = decode_audio(path, device=device).waveform
    rate = 44100
    mono = ops.to_mono(stereo)
    audio = ops.resample(mono, rate, 16000)
    speech = ops.detect_speech(audio, 16000)
    spans = ops.plan_kept_spans(speech.speech, audio.shape[-1], edge_pad=4800, max_pause=32000, trim_edges=True)
    cases = {
        "downmix (mean of 2 channels at 44.1 kHz)": lambda: ops.to_mono(stereo),
        "sample_rate_conversion (auto: soxr on CPU, julius on GPU)": lambda: ops.resample(mono, rate, 16000),
        "sample_rate_conversion (julius)": lambda: ops.resample(mono, rate, 16000, method="julius"),
        "silence_detection (frame dB + threshold)": lambda: ops.detect_speech(audio, 16000),
        "trim (cut kept spans)": lambda: ops.cut(audio, spans),
        "normalization (BS.1770 loudness + gain)": lambda: ops.loudness_normalize(audio, 16000),
        "normalization (peak)": lambda: ops.peak_normalize(audio),
    }
    times: dict[str, float] = {}
    for name, operation in cases.items():
        operation()  # warm-up (kernels, caches)
        sync()
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            operation()
            sync()
            runs.append(time.perf_counter() - started)
        times[name] = statistics.median(runs)
    return times


def run_pydub(path: Path) -> dict[str, float]:
    from pydub import AudioSegment, effects
    from pydub.silence import detect_leading_silence, detect_nonsilent

    times: dict[str, float] = {}
    cpu = time.process_time() + _children_cpu()
    started = mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        times[name] = now - mark
        mark = now

    audio = AudioSegment.from_file(str(path))
    lap("load_audio")
    audio = audio.set_channels(1)
    lap("downmix")
    audio = audio.set_frame_rate(16000)
    lap("sample_rate_conversion")
    lead = detect_leading_silence(audio, silence_threshold=-50.0)
    tail = detect_leading_silence(audio.reverse(), silence_threshold=-50.0)
    audio = audio[lead : len(audio) - tail]
    speech = detect_nonsilent(audio, min_silence_len=1000, silence_thresh=audio.dBFS - 16)
    lap("silence_detection")
    audio = _cut_long_pauses(audio, speech, max_pause_ms=2000)
    lap("trim")
    audio = effects.normalize(audio, headroom=1.0)
    lap("normalization")
    audio.export(io.BytesIO(), format="wav")
    lap("export")
    times.update(total=time.perf_counter() - started, cpu=time.process_time() + _children_cpu() - cpu)
    return times


def _cut_long_pauses(audio: Any, speech: list[list[int]], max_pause_ms: int) -> Any:
    """Keep every pause up to ``max_pause_ms`` and half of that on each side of a longer one (as ours does)."""
    if not speech:
        return audio
    half = max_pause_ms // 2
    pieces, start = [], 0
    for (_, end), (next_start, _) in zip(speech, speech[1:]):
        if next_start - end > max_pause_ms:
            pieces.append(audio[start : end + half])
            start = next_start - half
    pieces.append(audio[start:])
    out = pieces[0]
    for piece in pieces[1:]:
        out += piece
    return out


# ------------------------------------------------------------------ measurement


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = runs[0].keys()
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def measure(path: Path, runs: int) -> dict[str, Any]:
    import torch

    have_cuda = torch.cuda.is_available()
    run_ours(path, "cpu")  # warm-up: imports, scipy, allocator
    run_ffmpeg(path)  # warm-up: page cache
    if have_cuda:
        run_ours(path, "cuda")  # CUDA context and kernels
    raw: dict[str, list[dict[str, float]]] = {"ffmpeg": [], "ours_cpu": [], "pydub": [], "ours_cuda": []}
    loads = [os.getloadavg()[0]]
    for index in range(runs):
        print(f"  run {index + 1}/{runs}", flush=True)
        raw["ffmpeg"].append(run_ffmpeg(path))
        raw["ours_cpu"].append(run_ours(path, "cpu"))
        if have_cuda:
            raw["ours_cuda"].append(run_ours(path, "cuda"))
        raw["pydub"].append(run_pydub(path))
        loads.append(os.getloadavg()[0])
    medians = {name: median_of(values) for name, values in raw.items() if values}
    print("  operations one by one", flush=True)
    operations = {"cpu": time_operations(path, "cpu", runs)}
    if have_cuda:
        operations["cuda"] = time_operations(path, "cuda", runs)
    return {"raw": raw, "median": medians, "operations": operations, "load_average_1min": loads, "cuda": have_cuda}


def machine_info() -> dict[str, Any]:
    import av
    import soxr
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "pyav": av.__version__,
        "soxr": soxr.__version__,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        first = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.splitlines()
        info["ffmpeg"] = first[0] if first else "ffmpeg"
    return info


# ------------------------------------------------------------------ report


def _s(value: float | None) -> str:
    return "—" if value is None else (f"{value:.3f} s" if value < 1 else f"{value:.2f} s")


def render(result: dict[str, Any]) -> str:
    med = result["median"]
    ours, ffmpeg, pydub = med["ours_cpu"], med["ffmpeg"], med["pydub"]
    cuda = med.get("ours_cuda")
    gpu_name = result["machine"]["gpu"]
    vs_ffmpeg = ours["total"] / ffmpeg["total"]
    vs_pydub = pydub["total"] / ours["total"]
    info = result["input"]
    lines = [
        "## Audio preprocessing",
        "",
        f"Input: {info['minutes']:.0f}-minute looped sample session (the 30-s sample's real voices re-sequenced: a speed workload only, no accuracy claim), {info['format']}, "
        f"{info['megabytes']:.1f} MB; after preprocessing {ours['kept_seconds'] / 60:.1f} minutes remain "
        f"(long pauses shortened to 2 s). Median of {result['runs']} interleaved runs; "
        f"1-minute load average during the runs {min(result['load_average_1min']):.1f}–{max(result['load_average_1min']):.1f} "
        f"on {result['machine'].get('cpu') or str(result['machine']['cpu_count']) + ' cores'}. Command: `.venv/bin/python -m benchmarks.bench_audio`.",
        "",
        "### The seed's table: each step on CPU and GPU",
        "",
        f"GPU: {gpu_name or 'none on this machine — the GPU column fills in where CUDA is present'}.",
        "",
        "| step | CPU | GPU | saving |",
        "|---|---|---|---|",
    ]
    for step in (*STEPS, "total"):
        cpu_s = ours[step]
        gpu_s = cuda[step] if cuda else None
        saving = "—" if gpu_s is None else f"{cpu_s - gpu_s:+.3f} s ({cpu_s / max(gpu_s, 1e-9):.1f}×)"
        label = "**whole chain**" if step == "total" else step
        overlapped = ours.get(f"{step}_overlapped", 0.0)
        cpu_text = _s(cpu_s) + (f" (+{overlapped:.2f} s done while decoding)" if overlapped else "")
        lines.append(f"| {label} | {cpu_text} | {_s(gpu_s)} | {saving} |")
    lines += [
        "",
        "On the CPU the decoder runs in its own thread, and the chain resamples (soxr, streamed) and measures frame",
        "levels and K-weighted loudness chunk by chunk on the second core while the next chunk decodes; that work is",
        "shown in brackets and is hidden inside `load_audio`. `downmix` happens inside the decoder, frame by frame.",
        "",
        "### Each operation alone on the decoded recording",
        "",
        "| operation | CPU | GPU | GPU speed-up |",
        "|---|---|---|---|",
    ]
    ops_cpu = result["operations"]["cpu"]
    ops_gpu = result["operations"].get("cuda", {})
    for name, cpu_s in ops_cpu.items():
        gpu_s = ops_gpu.get(name)
        speed = "—" if gpu_s is None else f"{cpu_s / max(gpu_s, 1e-9):.1f}×"
        lines.append(f"| {name} | {_s(cpu_s)} | {_s(gpu_s)} | {speed} |")
    lines += [
        "",
        "### Against the anchors (same process, same runs)",
        "",
        "| chain | wall | CPU time | ours (CPU) is |",
        "|---|---|---|---|",
        f"| ffmpeg CLI floor (decode + mono + 16 kHz only) | {_s(ffmpeg['total'])} | {_s(ffmpeg['cpu'])} | "
        f"{vs_ffmpeg:.2f}× its wall time (target ≤ {TARGET_VS_FFMPEG}×: {'met' if vs_ffmpeg <= TARGET_VS_FFMPEG else 'NOT met'}) |",
        f"| seed's pydub chain | {_s(pydub['total'])} | {_s(pydub['cpu'])} | "
        f"{vs_pydub:.1f}× faster (target ≥ {TARGET_VS_PYDUB:.0f}×: {'met' if vs_pydub >= TARGET_VS_PYDUB else 'NOT met'}) |",
        f"| **ours, whole chain, CPU** | {_s(ours['total'])} | {_s(ours['cpu'])} | — |",
    ]
    if cuda:
        lines.append(f"| ours, whole chain, CUDA ({gpu_name}) | {_s(cuda['total'])} | {_s(cuda['cpu'])} | — |")
    lines += [
        "",
        "### Where the seed's pydub chain spends its time",
        "",
        "| step | pydub |",
        "|---|---|",
    ]
    for step in (*STEPS, "export"):
        lines.append(f"| {step} | {_s(pydub[step])} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=23.0)
    args = parser.parse_args(argv)
    if not shutil.which("ffmpeg"):
        print("ffmpeg is needed for the anchors (apt-get install -y ffmpeg)", file=sys.stderr)
        return 1
    path, _ = session_mp3(minutes=args.minutes)
    print(f"bench_audio: {path.name}, {args.runs} runs", flush=True)
    result = measure(path, args.runs)
    result.update(
        runs=args.runs,
        machine=machine_info(),
        input={
            "file": path.name,
            "minutes": args.minutes,
            "format": "44.1 kHz stereo 128 kbps mp3",
            "megabytes": path.stat().st_size / 1e6,
        },
    )
    med = result["median"]
    result["ratios"] = {
        "ours_cpu_vs_ffmpeg_wall": med["ours_cpu"]["total"] / med["ffmpeg"]["total"],
        "pydub_vs_ours_cpu_wall": med["pydub"]["total"] / med["ours_cpu"]["total"],
        "ours_cpu_vs_ffmpeg_cpu_time": med["ours_cpu"]["cpu"] / med["ffmpeg"]["cpu"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "audio.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    markdown = render(result)
    (RESULTS / "audio.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
