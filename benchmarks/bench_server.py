"""The transcription service under load, against ``AudioTranscriptionPipeline.process_many`` on the same files.

20 concurrent clients (each with its own token) submit 100 short recordings (10-20 s cuts of the bundled sample) to
``therapybridge serve`` with tiny.en; every job must complete exactly once with the transcript ``process_many``
gives for that file (segments, words, speakers, turns). Measured: ``POST /v1/jobs`` latency while the workers are
busy (p50/p99), throughput (files per second from the first upload to the last result) against ``process_many``'s,
then schemathesis with more examples than ``make test`` runs.

    python -m benchmarks.bench_server                       # 100 files, 20 clients, one worker using every core
    python -m benchmarks.bench_server --files 20 --clients 5
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from benchmarks.common import ROOT, machine, write_results
from therapybridge.server.process import ServerProcess

SAMPLE = ROOT / "tests" / "data" / "sample.wav"
MODEL = "tiny.en"
FORMATS = ("json", "txt", "srt", "vtt")
FUZZ_EXAMPLES = 200


def make_clips(directory: Path, count: int) -> list[Path]:
    """``count`` cuts of the sample, 10-20 s long at different offsets (PCM16 WAV)."""
    with wave.open(str(SAMPLE), "rb") as source:
        rate, width, channels = source.getframerate(), source.getsampwidth(), source.getnchannels()
        frames = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2").reshape(-1, channels)
    total = len(frames) / rate
    clips = []
    for index in range(count):
        length = 10.0 + (index * 7) % 11
        start = ((index * 3.7) % max(total - length, 0.1))
        cut = frames[int(start * rate): int((start + length) * rate)]
        path = directory / f"clip{index:03d}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(width)
            out.setframerate(rate)
            out.writeframes(cut.tobytes())
        clips.append(path)
    return clips


def comparable(transcript: dict) -> str:
    return json.dumps({k: transcript[k] for k in ("segments", "speakers", "turns", "language")}, sort_keys=True)


def baseline(clips: list[Path], out: Path, cpu_threads: int) -> dict[str, Any]:
    from therapybridge import AudioTranscriptionPipeline

    pipeline = AudioTranscriptionPipeline(device="cpu", asr__model=MODEL, asr__cpu_threads=cpu_threads).load()
    started = time.perf_counter()
    items = list(pipeline.process_many(clips, output_dir=out, formats=FORMATS))
    elapsed = time.perf_counter() - started
    assert all(item.ok for item in items), [str(i.error) for i in items if not i.ok]
    expected = {clip.name: comparable(json.loads((out / f"{clip.stem}.json").read_text())) for clip in clips}
    return {"seconds": elapsed, "files_per_second": len(clips) / elapsed, "expected": expected}


def _tokens(server: ServerProcess, count: int) -> list[str]:
    from therapybridge.server.run import open_store
    from therapybridge.server.tokens import create_token

    _, store = open_store(server.data_dir)
    return [create_token(store, f"client-{i}") for i in range(count)]


def load_test(clips: list[Path], clients: int, workers: int, cpu_threads: int, work: Path,
              expected: dict[str, str]) -> dict[str, Any]:
    data = work / f"server-{workers}x{cpu_threads}"
    server = ServerProcess(data_dir=data / "data", log_path=data.with_suffix(".log"),
                           args=("--model", MODEL, "--workers", str(workers), "--cpu-threads", str(cpu_threads)))
    data.mkdir(parents=True)
    server.start()
    tokens = _tokens(server, clients)
    shares = [clips[i::clients] for i in range(clients)]
    submitted: list[tuple[str, str, int]] = []  # (job id, clip name, client)
    latencies: list[tuple[float, float]] = []  # (monotonic time sent, seconds)
    errors: list[str] = []
    lock = threading.Lock()
    rng = random.Random(7)
    pauses = [[rng.uniform(0.0, 3.0) for _ in share] for share in shares]

    def client(index: int) -> None:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tokens[index]}"},
                          timeout=120) as http:
            for clip, pause in zip(shares[index], pauses[index]):
                time.sleep(pause)
                with open(clip, "rb") as handle:
                    sent = time.monotonic()
                    response = http.post("/v1/jobs", files={"file": (clip.name, handle, "audio/wav")},
                                         data={"formats": ",".join(FORMATS)})
                    took = time.monotonic() - sent
                with lock:
                    latencies.append((sent, took))
                    if response.status_code == 202:
                        submitted.append((response.json()["id"], clip.name, index))
                    else:
                        errors.append(f"{response.status_code}: {response.text[:200]}")

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Wait on the job store itself (polling the API for 100 jobs would take CPU from the workers being measured).
    db = sqlite3.connect(server.data_dir / "jobs.sqlite3")
    while db.execute("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')").fetchone()[0]:
        time.sleep(0.5)
    finished = db.execute("SELECT MAX(finished) FROM jobs").fetchone()[0] - (time.time() - time.monotonic())
    results: dict[str, dict] = {}
    with httpx.Client(base_url=server.url, timeout=120) as http:
        for job_id, _, idx in submitted:
            headers = {"Authorization": f"Bearer {tokens[idx]}"}
            status = http.get(f"/v1/jobs/{job_id}", headers=headers).json()
            if status["state"] == "done":
                results[job_id] = http.get(f"/v1/jobs/{job_id}/result", headers=headers).json()
            else:
                errors.append(f"{status['state']}: {status['error']}")
        listed = sum(
            len(http.get("/v1/jobs", params={"limit": 100}, headers={"Authorization": f"Bearer {t}"}).json()["data"])
            for t in tokens
        )
    rows = db.execute("SELECT id, attempts, completions, started FROM jobs").fetchall()
    first_started = min(r[3] for r in rows if r[3] is not None)
    server.stop()
    # POSTs sent while a worker was busy: after the first job started (wall clock of the store vs monotonic here)
    offset = time.time() - time.monotonic()
    busy = [took for sent, took in latencies if sent + offset >= first_started]
    names = {job_id: name for job_id, name, _ in submitted}
    correct = sum(1 for job_id, transcript in results.items() if comparable(transcript) == expected[names[job_id]])
    return {
        "workers": workers,
        "cpu_threads": cpu_threads,
        "submitted": len(submitted),
        "unique_ids": len({s[0] for s in submitted}),
        "done": len(results),
        "listed": listed,
        "rows": len(rows),
        "attempts_max": max(r[1] for r in rows),
        "completions": sorted({r[2] for r in rows}),
        "correct": correct,
        "errors": errors[:10],
        "seconds": finished - started,
        "files_per_second": len(results) / (finished - started),
        "post_p50_ms": 1000 * statistics.median(busy) if busy else None,
        "post_p99_ms": 1000 * float(np.percentile(busy, 99)) if busy else None,
        "post_max_ms": 1000 * max(busy) if busy else None,
        "posts_while_busy": len(busy),
    }


def fuzz(work: Path, examples: int) -> dict[str, Any]:
    server = ServerProcess(data_dir=work / "fuzz" / "data", log_path=work / "fuzz.log",
                           args=("--model", MODEL, "--max-upload-mb", "3", "--sync-max-seconds", "20"))
    (work / "fuzz").mkdir()
    server.start()
    token = _tokens(server, 1)[0]
    exe = Path(sys.executable).with_name("schemathesis")
    started = time.perf_counter()
    run = subprocess.run(
        [str(exe), "run", f"{server.url}/openapi.json", "--checks",
         "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance",
         "--max-examples", str(examples), "--phases", "examples,fuzzing", "--no-color", "--seed", "23",
         "-H", f"Authorization: Bearer {token}", "--request-timeout", "120", "--suppress-health-check", "all",
         "--report-dir", str(work / "fuzz-report")],
        capture_output=True, text=True, timeout=3600,
    )
    server.stop()
    summary = [line.strip() for line in run.stdout.splitlines() if "generated" in line or "passed" in line]
    return {"examples": examples, "exit": run.returncode, "summary": summary[-3:],
            "seconds": time.perf_counter() - started, "failures": run.stdout[-3000:] if run.returncode else ""}


def markdown(result: dict[str, Any]) -> str:
    base = result["baseline"]
    lines = [
        "## Transcription service (`therapybridge serve`)",
        "",
        f"{result['files']} recordings of 10-20 s (cuts of the sample), {MODEL}, diarization on, formats "
        f"{','.join(FORMATS)}; {result['clients']} concurrent clients, one token each. Anchor: `process_many` on the "
        f"same files in one process: {base['seconds']:.1f} s, {base['files_per_second']:.3f} files/s.",
        "",
        "| workers x threads | done / submitted | unique ids | correct | attempts max | POST p50 / p99 (busy) | "
        "files/s | vs process_many |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in result["runs"]:
        lines.append(
            f"| {run['workers']} x {run['cpu_threads'] or 'all'} | {run['done']} / {run['submitted']} | "
            f"{run['unique_ids']} | {run['correct']} | {run['attempts_max']} | "
            f"{run['post_p50_ms']:.0f} / {run['post_p99_ms']:.0f} ms ({run['posts_while_busy']} POSTs) | "
            f"{run['files_per_second']:.3f} | {run['files_per_second'] / base['files_per_second']:.2f} x |"
        )
    fz = result.get("fuzz")
    if fz:
        lines += ["", f"schemathesis, {fz['examples']} examples per operation (no 5xx, responses match the schema): "
                  f"{'pass' if fz['exit'] == 0 else 'FAIL'} ({'; '.join(fz['summary'])})."]
    lines += ["", f"Machine: {result['machine']['cpu']}; load average at start {result['machine']['load_average']}.",
              "", "`python -m benchmarks.bench_server`", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--configs", default="1x0", help="workers x cpu-threads (0: every core), comma-separated")
    parser.add_argument("--fuzz-examples", type=int, default=FUZZ_EXAMPLES, help="0 skips fuzzing")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tb-bench-server-") as tmp:
        work = Path(tmp)
        (work / "clips").mkdir()
        clips = make_clips(work / "clips", args.files)
        print(f"baseline: process_many on {len(clips)} files", flush=True)
        base = baseline(clips, work / "baseline", 0)
        runs = []
        for config in args.configs.split(","):
            workers, threads = (int(x) for x in config.split("x"))
            print(f"server: {workers} worker(s) x {threads or 'all'} thread(s)", flush=True)
            runs.append(load_test(clips, args.clients, workers, threads, work, base["expected"]))
            print(json.dumps(runs[-1]), flush=True)
        fuzzed = fuzz(work, args.fuzz_examples) if args.fuzz_examples else None
    result = {
        "files": len(clips), "clients": args.clients, "model": MODEL, "machine": machine(),
        "baseline": {k: v for k, v in base.items() if k != "expected"}, "runs": runs, "fuzz": fuzzed,
    }
    best = max(runs, key=lambda r: r["files_per_second"])
    result["criteria"] = {
        "none_lost_or_duplicated": all(r["done"] == r["submitted"] == r["unique_ids"] == r["rows"] == len(clips)
                                       and r["completions"] == [1] for r in runs),
        "every_result_correct": all(r["correct"] == len(clips) for r in runs),
        "post_p99_ms_le_200": all(r["post_p99_ms"] is not None and r["post_p99_ms"] <= 200 for r in runs),
        "best_throughput_ratio": best["files_per_second"] / base["files_per_second"],
        "best_config": f"{best['workers']}x{best['cpu_threads']}",
        "fuzz_pass": fuzzed is None or fuzzed["exit"] == 0,
    }
    write_results("server", result, markdown(result))
    print(json.dumps(result["criteria"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
