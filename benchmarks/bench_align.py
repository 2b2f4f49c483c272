"""Speaker alignment: ``assign_speakers`` against the seed's nested loop, scaling, and word-speaker accuracy.

* Speed: a synthetic session of 50,000 words and 10,000 turns (4 speakers, some overlapped speech, words in gaps,
  punctuation so smoothing has sentences to work with). ``assign_speakers`` is timed objects in and out; the array
  core ``assign_speaker_indices`` arrays in and out. Then 10x the input. The seed report's nested loop (every word
  against every turn, O(W*T)) is the anchor: it runs in this process on an evenly spaced subset of the words
  against all the turns and is extrapolated linearly in the number of words (its cost is exactly W*T loop steps);
  ours is timed on the same subset too, so one speed-up needs no extrapolation at all.
* Accuracy: the real sample, faster-whisper base words (batched, word timestamps), the reference turns of
  sample.rttm as the diarization, scored against sample.stm (``therapybridge.evaluation.score_turns_and_words``).

    .venv/bin/python -m benchmarks.bench_align            # about a minute on 2 busy cores
    .venv/bin/python -m benchmarks.bench_align --quick    # fewer repeats, no accuracy section
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

from tests.align.seed import seed_nested_loop
from therapybridge.align import assign_speaker_indices, assign_speakers
from therapybridge.types import SpeakerTurn, Word

ROOT = Path(__file__).resolve().parent.parent

RESULTS = ROOT / "benchmarks" / "results"
WORDS, TURNS, SPEAKERS = 50_000, 10_000, 4
ANCHOR_WORDS = 1_000
_TOKENS = (" I", " think", " that", " was", " hard,", " you", " know.", " Okay.", " so", " maybe", " yes?", " well")


def synthetic_session(n_words: int, n_turns: int, n_speakers: int = SPEAKERS, seed: int = 0):
    """Turns that mostly alternate with short gaps and some overlap; words inside turns and a few in the gaps."""
    rng = np.random.default_rng(seed)
    durations = rng.gamma(2.0, 1.5, n_turns) + 0.2
    gaps = rng.normal(0.3, 0.4, n_turns)  # negative: overlapped speech
    starts = np.cumsum(np.r_[0.0, durations[:-1] + gaps[:-1]]).clip(min=0)
    ends = starts + durations
    speakers = (np.arange(n_turns) + rng.integers(0, n_speakers, n_turns) * (rng.random(n_turns) < 0.2)) % n_speakers
    turn_of_word = np.sort(rng.integers(0, n_turns, n_words))
    offset = rng.uniform(-0.2, 1.05, n_words)  # a few words fall just outside their turn
    word_starts = starts[turn_of_word] + offset * durations[turn_of_word]
    word_ends = word_starts + rng.uniform(0.0, 0.5, n_words)
    order = np.argsort(word_starts, kind="stable")
    word_starts, word_ends = word_starts[order], word_ends[order]
    labels = [f"SPEAKER_{k:02d}" for k in range(n_speakers)]
    turns = [SpeakerTurn(float(s), float(e), labels[k]) for s, e, k in zip(starts, ends, speakers)]
    tokens = rng.integers(0, len(_TOKENS), n_words)
    words = [Word(float(s), float(e), _TOKENS[t], 0.9) for s, e, t in zip(word_starts, word_ends, tokens)]
    arrays = (word_starts, word_ends, starts, ends, speakers)
    return words, turns, arrays


def timed(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median and minimum of wall time and of this process's CPU time (the machine is shared: CPU time is what
    our code costs, wall time adds whatever the other processes take from us)."""
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return {
        "median_s": statistics.median(cpu),
        "min_s": min(cpu),
        "wall_median_s": statistics.median(wall),
        "wall_min_s": min(wall),
        "runs": repeats,
    }


def speed(repeats: int) -> dict[str, Any]:
    words, turns, arrays = synthetic_session(WORDS, TURNS)
    assign_speakers(words[:1000], turns)  # warm-up: imports, first allocations
    objects = timed(lambda: assign_speakers(words, turns), repeats)
    objects_plain = timed(lambda: assign_speakers(words, turns, {"smoothing": False}), repeats)
    core = timed(lambda: assign_speaker_indices(*arrays), repeats * 3)

    big_words, big_turns, big_arrays = synthetic_session(WORDS * 10, TURNS * 10, seed=1)
    objects_10x = timed(lambda: assign_speakers(big_words, big_turns), max(2, repeats // 2))
    core_10x = timed(lambda: assign_speaker_indices(*big_arrays), repeats)
    big_words = big_turns = big_arrays = None  # free them before the anchor runs

    subset = words[:: WORDS // ANCHOR_WORDS][:ANCHOR_WORDS]
    anchor = timed(lambda: seed_nested_loop(subset, turns), 2)
    ours_subset = timed(lambda: assign_speakers(subset, turns), repeats)
    seed_words = seed_nested_loop(subset, turns)
    ours_words = assign_speakers(subset, turns, {"smoothing": False})
    agreement = float(np.mean([a.speaker == b.speaker for a, b in zip(seed_words, ours_words)]))
    anchor_full_s = anchor["median_s"] * WORDS / ANCHOR_WORDS
    return {
        "words": WORDS,
        "turns": TURNS,
        "speakers": SPEAKERS,
        "assign_speakers": objects,
        "assign_speakers_no_smoothing": objects_plain,
        "array_core": core,
        "assign_speakers_10x": objects_10x,
        "array_core_10x": core_10x,
        "scaling_objects_10x": objects_10x["median_s"] / objects["median_s"],
        "scaling_core_10x": core_10x["median_s"] / core["median_s"],
        "anchor": {
            "what": f"seed nested loop, {ANCHOR_WORDS} evenly spaced words x all {TURNS} turns",
            "subset": anchor,
            "ours_on_subset": ours_subset,
            "speedup_on_subset": anchor["median_s"] / ours_subset["median_s"],
            "extrapolated_full_s": anchor_full_s,
            "speedup_full_extrapolated": anchor_full_s / objects["median_s"],
            "agreement_with_ours_without_smoothing": agreement,
        },
        "gpu": gpu_timing(arrays, repeats),
    }


def gpu_timing(arrays: tuple[np.ndarray, ...], repeats: int) -> dict[str, Any] | None:
    """The torch path on a CUDA GPU when there is one (the pipeline uses it only for very large inputs)."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        return None
    if not torch.cuda.is_available():
        return None
    from therapybridge.align import core

    table = core.build_coverage(arrays[2], arrays[3], arrays[4])
    forced = {}
    for name, n in (("50k", 1), ("500k", 10)):
        a, b = np.tile(arrays[0], n), np.tile(arrays[1], n)
        original = core._use_torch
        core._use_torch = lambda *args: True
        try:
            core.score_words(a, b, table, device="cuda")
            gpu = timed(lambda: core.score_words(a, b, table, device="cuda"), repeats)
        finally:
            core._use_torch = original
        cpu = timed(lambda: core.score_words(a, b, table), repeats)
        forced[name] = {"cuda": gpu, "numpy": cpu, "device": torch.cuda.get_device_name()}
    return forced


def accuracy() -> dict[str, Any]:
    """Word-speaker accuracy of each assignment, with the reference turns and with the project's own diarizer."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from tests.datagen import read_wav
    from tests.references import SAMPLE_RTTM, SAMPLE_STM, SAMPLE_WAV
    from therapybridge.evaluation import read_rttm, read_stm, score_turns_and_words
    from therapybridge.asr.models import resolve_model
    from therapybridge.diarization import load_diarizer

    model = WhisperModel(str(resolve_model("base").path), device="cpu", compute_type="int8", cpu_threads=2)
    pieces, _ = BatchedInferencePipeline(model).transcribe(
        str(SAMPLE_WAV), batch_size=8, beam_size=5, word_timestamps=True
    )
    words = [Word(w.start, w.end, w.word, w.probability) for p in pieces for w in p.words]
    utterances = read_stm(SAMPLE_STM)
    reference_turns = read_rttm(SAMPLE_RTTM)
    audio, rate = read_wav(SAMPLE_WAV)
    diarizations = {
        "reference turns (sample.rttm)": reference_turns,
        "the project's diarizer (default settings)": list(load_diarizer("default", "cpu").diarize(audio, rate).turns),
    }
    results: dict[str, Any] = {}
    for source, turns in diarizations.items():
        results[source] = {
            name: score_turns_and_words(reference_turns, turns, hyp, utterances).attribution.to_dict()
            for name, hyp in (
                ("seed nested loop (max overlap)", seed_nested_loop(words, turns)),
                ("ours, smoothing off", assign_speakers(words, turns, {"smoothing": False})),
                ("ours (default: smoothing on)", assign_speakers(words, turns)),
            )
        }
    return results


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def markdown(result: dict[str, Any]) -> str:
    s = result["speed"]
    a = s["anchor"]
    ms = lambda d: f"{d['median_s'] * 1000:.1f} ms"  # noqa: E731
    wall = lambda d: f"{d['wall_median_s'] * 1000:.1f} ms"  # noqa: E731
    lines = [
        "## Speaker alignment",
        "",
        f"`python -m benchmarks.bench_align`: a synthetic session of {s['words']:,} words and {s['turns']:,} turns "
        f"({s['speakers']} speakers, overlapped speech, words in gaps), on the CPU; medians of repeated runs of the "
        "process's CPU time (wall time beside it: the machine is shared, so wall time includes other work). The anchor is the "
        f"seed report's nested loop, run in the same process on {ANCHOR_WORDS:,} evenly spaced words against all "
        f"{s['turns']:,} turns and extrapolated linearly to all words (its cost is exactly words x turns loop steps).",
        "",
        "| what | CPU time | wall time | target |",
        "|---|---|---|---|",
        f"| `assign_speakers`, objects in and out, smoothing on | {ms(s['assign_speakers'])} | {wall(s['assign_speakers'])} | <= 100 ms |",
        f"| `assign_speakers`, smoothing off | {ms(s['assign_speakers_no_smoothing'])} | {wall(s['assign_speakers_no_smoothing'])} | |",
        f"| `assign_speaker_indices` (array core, coverage table included) | {ms(s['array_core'])} | {wall(s['array_core'])} | <= 10 ms |",
        f"| `assign_speakers`, 10x input ({s['words'] * 10:,} x {s['turns'] * 10:,}) | {ms(s['assign_speakers_10x'])} "
        f"= **{s['scaling_objects_10x']:.1f}x** | {wall(s['assign_speakers_10x'])} | <= 12x |",
        f"| array core, 10x input | {ms(s['array_core_10x'])} = **{s['scaling_core_10x']:.1f}x** | {wall(s['array_core_10x'])} | <= 12x |",
        f"| seed nested loop, {ANCHOR_WORDS:,} words x {s['turns']:,} turns | {a['subset']['median_s']:.2f} s | {a['subset']['wall_median_s']:.2f} s | anchor |",
        f"| ours on the same {ANCHOR_WORDS:,} words | {ms(a['ours_on_subset'])}: **{a['speedup_on_subset']:,.0f}x** faster | {wall(a['ours_on_subset'])} | |",
        f"| seed nested loop, all {s['words']:,} words (extrapolated) | {a['extrapolated_full_s']:.0f} s | | |",
        f"| speed-up on the full session (extrapolated anchor / ours) | **{a['speedup_full_extrapolated']:,.0f}x** | | |",
        "",
        f"Ours and the seed agree on {a['agreement_with_ours_without_smoothing']:.1%} of the subset's words "
        "(smoothing off); the others are words in gaps (the seed leaves them without a speaker), ties between "
        "overlapping turns, and words spanning two turns of one speaker (the seed counts only the larger piece).",
        f"Machine: {result['machine']['cpus']} CPUs, load average {result['machine']['load_average'][0]:.1f} at the "
        "start (a shared machine: absolute times drift, ratios less).",
    ]
    if s.get("gpu"):
        lines += ["", "| `score_words` on GPU (torch path forced) | cuda, wall | numpy, wall |", "|---|---|---|"]
        for name, g in s["gpu"].items():
            lines.append(f"| {name} words ({g['device']}) | {wall(g['cuda'])} | {wall(g['numpy'])} |")
    else:
        lines += ["", "No CUDA GPU in this run: the torch path (used for >= 4M word-speaker cells on CUDA) was not timed."]
    if result.get("accuracy"):
        lines += [
            "",
            "Word-speaker accuracy on the real sample (faster-whisper base words, batched, word timestamps; scored "
            "against `sample.stm` with `therapybridge.evaluation.score_turns_and_words`: Whisper's normaliser, "
            "jiwer's word alignment, speakers mapped by the diarization's optimal DER mapping, accuracy over the "
            "recognised words). `tests/align/test_accuracy.py` checks >= 0.97 with the reference turns and >= 0.90 "
            "end to end through the pipeline.",
            "",
            "| diarization | assignment | word-speaker accuracy | recognised words | WDER |",
            "|---|---|---|---|---|",
        ]
        for source, rows in result["accuracy"].items():
            for name, r in rows.items():
                wder = "n/a" if r["wder"] is None else f"{r['wder']:.3f}"
                lines.append(f"| {source} | {name} | {r['word_speaker_accuracy']:.3f} | {r['recognised_words']} | "
                             f"{wder} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and no accuracy section")
    args = parser.parse_args(argv)
    info = machine()
    result: dict[str, Any] = {"machine": info, "speed": speed(3 if args.quick else 7)}
    if not args.quick:
        result["accuracy"] = accuracy()
    result["machine"]["load_average_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "align.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "align.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
