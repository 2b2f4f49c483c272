"""Recognition stage: our local backend against bare faster-whisper ``BatchedInferencePipeline``, in one process.

Both use the same loaded model, language, batch size (8), beam (5) and word timestamps. The timed audio is the
23-minute two-speaker session re-sequenced from the sample's real voices (``tests.datagen.real_voice_session``);
runs alternate A B B A (``--bare-first``: B A A B) so drift in the shared machine's load hits both sides alike, and
the process's CPU time is recorded beside wall time because other jobs on a shared machine move wall time far more
than they move CPU time. The looped session is a speed workload only (its identical clips say nothing about accuracy):
WER is measured here on the real sample only; realistic sessions are scored by bench_corpus and bench_recovery.

    .venv/bin/python -m benchmarks.bench_asr                 # base, 2 pairs (about 5 minutes on 2 cores)
    .venv/bin/python -m benchmarks.bench_asr --model tiny.en --pairs 1 --minutes 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from benchmarks.common import cpu_model
from tests.datagen import read_wav, real_voice_session
from tests.references import SAMPLE_WAV, reference_text
from therapybridge.evaluation import word_error_rate

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "benchmarks" / "results"
BATCH_SIZE = 8
BEAM_SIZE = 5


def bare_transcribe(model: Any, audio: np.ndarray, language: str | None) -> str:
    """faster-whisper's batched pipeline exactly as a user would call it (its own VAD on)."""
    from faster_whisper import BatchedInferencePipeline

    segments, _ = BatchedInferencePipeline(model).transcribe(
        audio, language=language, batch_size=BATCH_SIZE, beam_size=BEAM_SIZE, word_timestamps=True
    )
    return " ".join(s.text.strip() for s in segments)


def ours_transcribe(transcriber: Any, audio: np.ndarray) -> str:
    result = transcriber.transcribe(audio, 16000)
    return " ".join(s.text.strip() for s in result.segments)


def timed_ours_windows(transcriber: Any, audio: np.ndarray) -> int:
    """How many 30 s windows our backend decodes for this audio (speech detection only, no decoding)."""
    from therapybridge.asr.local import WINDOW_SECONDS, _pack, _speech_regions

    regions = _speech_regions(audio, transcriber.options)
    return len(_pack(regions, audio, int(WINDOW_SECONDS * 16000)))


def bare_windows(audio: np.ndarray) -> int:
    """How many windows faster-whisper's batched pipeline decodes with its default VAD settings."""
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    regions = get_speech_timestamps(audio, VadOptions(max_speech_duration_s=30, min_silence_duration_ms=160))
    return len(collect_chunks(audio, regions, max_duration=30)[0]) if regions else 0


def timed(fn: Callable[[], str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds of this process (less sensitive to other load on a shared machine), and text."""
    wall, cpu = time.perf_counter(), time.process_time()
    text = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, text


def run(model_name: str, minutes: float, pairs: int, bare_first: bool = False) -> dict[str, Any]:
    from therapybridge.asr import TranscribeOptions
    from therapybridge.asr.local import FasterWhisperTranscriber

    session = real_voice_session(minutes)
    long_audio = session.load()
    sample, _ = read_wav(SAMPLE_WAV)

    started = time.perf_counter()
    timed_ours = FasterWhisperTranscriber(
        TranscribeOptions(model=model_name, language="en", batch_size=BATCH_SIZE, beam_size=BEAM_SIZE), "cpu"
    )
    model = timed_ours.whisper_model
    load_seconds = time.perf_counter() - started

    # Accuracy on the sample with default settings (language detected), same loaded model.
    default_ours = FasterWhisperTranscriber(TranscribeOptions(model=model_name), "cpu")
    sample_ref = reference_text()
    sample_wer = {
        "ours": word_error_rate(sample_ref, ours_transcribe(default_ours, sample)).wer,
        "bare": word_error_rate(sample_ref, bare_transcribe(model, sample, None)).wer,
    }

    runs: dict[str, list[float]] = {"ours": [], "bare": []}
    cpu_runs: dict[str, list[float]] = {"ours": [], "bare": []}
    sides = {
        "ours": lambda: ours_transcribe(timed_ours, long_audio),
        "bare": lambda: bare_transcribe(model, long_audio, "en"),
    }
    for pair in range(pairs):
        for side in (("ours", "bare") if (pair + bare_first) % 2 == 0 else ("bare", "ours")):
            seconds, cpu_seconds, _ = timed(sides[side])
            runs[side].append(seconds)
            cpu_runs[side].append(cpu_seconds)
            print(f"  {side}: {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU", flush=True)

    medians = {side: statistics.median(values) for side, values in runs.items()}
    cpu_medians = {side: statistics.median(values) for side, values in cpu_runs.items()}
    return {
        "model": model_name,
        "bare_first": bare_first,
        "compute_type": timed_ours.compute_type,
        "cpu_threads": timed_ours.cpu_threads,
        "batch_size": BATCH_SIZE,
        "beam_size": BEAM_SIZE,
        "audio": {"name": session.wav.name, "seconds": round(session.duration, 1)},
        "model_load_seconds": round(load_seconds, 3),
        "runs_seconds": {side: [round(v, 3) for v in values] for side, values in runs.items()},
        "median_seconds": {side: round(v, 3) for side, v in medians.items()},
        "ratio_ours_over_bare": round(medians["ours"] / medians["bare"], 4),
        "cpu_runs_seconds": {side: [round(v, 3) for v in values] for side, values in cpu_runs.items()},
        "cpu_median_seconds": {side: round(v, 3) for side, v in cpu_medians.items()},
        "cpu_ratio_ours_over_bare": round(cpu_medians["ours"] / cpu_medians["bare"], 4),
        "windows": {"ours": timed_ours_windows(timed_ours, long_audio), "bare": bare_windows(long_audio)},
        "pair_ratios": [round(o / b, 4) for o, b in zip(runs["ours"], runs["bare"])],
        "wer_sample": {side: round(v, 4) for side, v in sample_wer.items()},
        "machine": {
            "cpu": cpu_model(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
    }


def markdown(result: dict[str, Any]) -> str:
    med, wer_s = result["median_seconds"], result["wer_sample"]
    ratio = result["ratio_ours_over_bare"]
    return "\n".join(
        [
            "## Speech recognition (local faster-whisper backend)",
            "",
            f"Model `{result['model']}` ({result['compute_type']}, {result['cpu_threads']} CPU threads), batch "
            f"{result['batch_size']}, beam {result['beam_size']}, language `en`, word timestamps; audio "
            f"`{result['audio']['name']}` ({result['audio']['seconds'] / 60:.1f} min: the looped sample session, a speed "
            "workload only; accuracy on realistic sessions is in the corpus and gap-recovery tables). Bare = faster-whisper "
            "`BatchedInferencePipeline` with its own VAD, same loaded model, same process; runs alternate "
            f"{'B A A B' if result['bare_first'] else 'A B B A'}.",
            "",
            "| | median wall s | wall runs | median CPU s | WER sample (default settings) |",
            "|---|---|---|---|---|",
            *(
                f"| {label} | {med[side]:.1f} | {', '.join(f'{v:.1f}' for v in result['runs_seconds'][side])} | "
                f"{result['cpu_median_seconds'][side]:.1f} | {wer_s[side]:.3f} |"
                for side, label in (("ours", "therapybridge `asr.local`"), ("bare", "bare `BatchedInferencePipeline`"))
            ),
            "",
            f"Ratio ours / bare (median wall time): **{ratio:.3f}** (target ≤ 1.0); CPU time: "
            f"**{result['cpu_ratio_ours_over_bare']:.3f}**; 30 s windows decoded: {result['windows']['ours']} vs "
            f"{result['windows']['bare']}; per pair (wall): "
            f"{', '.join(f'{r:.3f}' for r in result['pair_ratios'])}. WER difference on the sample: "
            f"{wer_s['ours'] - wer_s['bare']:+.3f} (target ≤ +0.005). Model load (first, cold): "
            f"{result['model_load_seconds']:.2f} s. Machine: {result['machine'].get('cpu') or str(result['machine']['cores']) + ' cores'}, load average "
            f"{result['machine']['load_average_after'][1]:.1f} (5 min) at the end of the run.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="base")
    parser.add_argument("--minutes", type=float, default=23.0)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--bare-first", action="store_true", help="order B A A B instead of A B B A")
    parser.add_argument("--no-write", action="store_true", help="print the results without writing them")
    args = parser.parse_args(argv)
    result = run(args.model, args.minutes, args.pairs, args.bare_first)
    text = markdown(result)
    print(text)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "asr.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        (RESULTS / "asr.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
