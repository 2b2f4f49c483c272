"""Live sessions (therapybridge.live): commit latency, lag, WER/WDER against the offline pipeline, flat memory.

    python -m benchmarks.bench_live [--split eval|dev] [--sessions ID ...] [--model tiny.en] [--clock real|simulated]
                                    [--lag-session e10 --lag-minutes 30] [--base-sessions ID ...] [--rss-minutes 60]

Per session the recording is decoded to 16 kHz mono and fed to a ``LiveSession`` in 0.1 s pieces:

- ``--clock real``: replayed at real time (``therapybridge.live.sources.paced``) through ``run_live``, the way
  ``therapybridge live --realtime`` runs; each committed word's emission is the wall time its event came back.
- ``--clock simulated``: a virtual clock for development: audio arrives at its own pace, each ``feed`` takes the
  wall time it measured, and everything that arrived meanwhile goes into the next ``feed``.

Latency of a word: its emission minus its end time in the offline transcript of the same file (the pipeline with
the same model; live and offline words paired by aligning their normalised token sequences). Lag: how long after
the last sample arrived its ``feed`` returned. WER/WDER: ``therapybridge.evaluation`` against the corpus STM/RTTM,
for the committed live words and for the offline transcript. Memory: RSS after 5 and after ``--rss-minutes`` of
the joined corpus sessions fed as fast as they are processed (5 s pieces).

Offline transcripts are kept under ``tests/.generated/corpus/transcripts/<model>/`` (shared with bench_analytics),
the live ones (with every non-partial event and when it came) under ``.../<model>/live/<id>.<clock>.json``.
Writes ``benchmarks/results/live.json`` and ``live.md`` (``live-dev.*`` for the development half).
"""

from __future__ import annotations

import difflib
import json
import os
import statistics
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS as RESULTS_DIR
from benchmarks.common import corpus_parser, machine, write_results

SAMPLE_RATE = 16000
BLOCK = 1600  # 0.1 s pieces, as a microphone or a WebSocket client delivers them


def _audio(path: Path, limit_seconds: float | None = None) -> np.ndarray:
    from therapybridge.live.sources import decoded_blocks

    pieces, total = [], 0
    for block in decoded_blocks(path):
        pieces.append(block)
        total += len(block)
        if limit_seconds is not None and total >= limit_seconds * SAMPLE_RATE:
            break
    audio = np.concatenate(pieces)
    return audio[: int(limit_seconds * SAMPLE_RATE)] if limit_seconds is not None else audio


def _offline(pipeline, built, cache: Path) -> dict:
    path = cache / f"{built.spec.id}.json"
    if path.exists():
        return json.loads(path.read_text())
    data = pipeline.process(built.audio).to_dict()
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return data


def _simulated(session, audio: np.ndarray) -> tuple[list[tuple[float, dict]], float, float]:
    """Emissions on a virtual clock; the lag at the end; busy seconds."""
    emitted: list[tuple[float, dict]] = []
    free, fed, busy = 0.0, 0, 0.0
    while fed < len(audio):
        arrived = max(fed + BLOCK, int(free * SAMPLE_RATE) // BLOCK * BLOCK)
        arrived = min(arrived, len(audio))
        start = max(free, arrived / SAMPLE_RATE)
        began = time.perf_counter()
        events = session.feed(audio[fed:arrived])
        took = time.perf_counter() - began
        busy += took
        fed, free = arrived, start + took
        emitted += [(free, e.to_dict()) for e in events]
    lag = free - len(audio) / SAMPLE_RATE
    emitted += [(free, e.to_dict()) for e in session.finish()]
    return emitted, lag, busy


def _realtime(session, audio: np.ndarray) -> tuple[list[tuple[float, dict]], float, float]:
    from therapybridge.live.runner import run_live
    from therapybridge.live.sources import paced

    origin: list[float] = []

    def clock() -> float:
        now = time.monotonic()
        if not origin:
            origin.append(now)
        return now

    emitted: list[tuple[float, dict]] = []

    def on_events(events) -> None:
        now = time.monotonic() - (origin[0] if origin else time.monotonic())
        emitted.extend((now, e.to_dict()) for e in events)

    began = time.process_time()
    blocks = paced((audio[i:i + BLOCK] for i in range(0, len(audio), BLOCK)), clock=clock)
    run = run_live(session, blocks, on_events=on_events)
    return emitted, run.lag_seconds, time.process_time() - began


def _tokens(words: list[tuple[str, Any]]) -> tuple[list[str], list[Any]]:
    from therapybridge.live.agreement import normalise

    toks, refs = [], []
    for text, ref in words:
        for tok in normalise(text).split():
            toks.append(tok)
            refs.append(ref)
    return toks, refs


def latencies(emitted: list[tuple[float, dict]], offline: dict) -> list[float]:
    """Emission time minus the offline end time of the same word, over the words the two transcripts share."""
    live = [(w["text"], t) for t, e in emitted if e["type"] == "committed" for w in e["words"]]
    off = [(w["word"], w["end"]) for s in offline["segments"] for w in s["words"] if w.get("end") is not None]
    live_toks, live_times = _tokens(live)
    off_toks, off_ends = _tokens(off)
    matcher = difflib.SequenceMatcher(None, live_toks, off_toks, autojunk=False)
    out = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            out.append(live_times[block.a + k] - off_ends[block.b + k])
    return out


def _scores(built, words, turns, until: float | None = None) -> dict:
    from therapybridge.evaluation import read_stm, score_turns_and_words

    utterances = read_stm(built.stm)
    reference = list(built.turns)
    if until is not None:
        utterances = [u for u in utterances if u.end <= until]
        reference = [t for t in reference if t.end <= until]
        last = max((u.end for u in utterances), default=0.0)
        words = [w for w in words if (w.end or 0) <= last + 0.5]
        turns = [t for t in turns if t.end <= last + 0.5]
    score = score_turns_and_words(reference, turns, words, utterances)
    row = {"der": score.diarization.der, "speakers_found": score.diarization.hypothesis_speakers,
           "speakers_true": built.num_speakers}
    if score.words is not None:
        row["wer"] = score.words.wer
    if score.attribution is not None:
        row["wder"] = score.attribution.wder
    return row


def _offline_words(data: dict):
    from therapybridge.types import SpeakerTurn, Word

    words = [Word(w["start"], w["end"], w["word"], None, w.get("speaker"))
             for s in data["segments"] for w in s["words"]]
    turns = [SpeakerTurn(t["start"], t["end"], t["speaker"]) for t in data.get("turns", []) if t.get("speaker")]
    return words, turns


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def run_session(models, options, built, offline: dict, clock: str, minutes: float | None,
                keep: Path | None = None) -> dict:
    """One session fed live; ``keep``: a file for the live transcript (its committed words and when each event
    came), so a figure that looks wrong can be taken apart afterwards."""
    from therapybridge.live import LiveSession

    audio = _audio(built.audio, minutes * 60 if minutes else None)
    seconds = len(audio) / SAMPLE_RATE
    session = LiveSession(models, options)
    emitted, lag, busy = (_realtime if clock == "real" else _simulated)(session, audio)
    if minutes:  # only the offline words inside the part that was fed
        offline = {"segments": [{"words": [w for w in s["words"] if (w.get("end") or 0) <= seconds]}
                                for s in offline["segments"]]}
    lat = latencies(emitted, offline)
    live = session.transcript().to_transcript()
    if keep is not None:
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_text(json.dumps({**session.transcript().to_dict(), "emitted": [
            [round(t, 3), e] for t, e in emitted if e["type"] != "partial"]}))
    row = {"id": built.spec.id, "minutes": round(seconds / 60, 2), "clock": clock, "model": options.model,
           "lag_end_s": round(lag, 3), "cpu_s_per_audio_s": round(busy / seconds, 3),
           "latency": {"words": len(lat), "p50": _pct(lat, 50), "p90": _pct(lat, 90), "p95": _pct(lat, 95),
                       "max": max(lat) if lat else None, "values": [round(v, 2) for v in lat]},
           "relabels": sum(e["type"] == "relabel" for _, e in emitted),
           "decodes": session._recognizer.decodes, "quiet_steps_skipped": session._recognizer.skipped}
    until = seconds if minutes else None
    row["live"] = _scores(built, list(live.words), list(live.turns), until)
    return row


def rss_check(models, options, minutes: float) -> dict:
    """RSS after 5 minutes and after ``minutes`` of the joined corpus sessions, fed in 5 s pieces."""
    import psutil

    from tests.corpus.build import concatenated_sessions
    from therapybridge.live import LiveSession

    long = concatenated_sessions(2.0)
    process = psutil.Process()
    session = LiveSession(models, options)
    samples: dict[str, float] = {}
    timeline = []
    piece = 5 * SAMPLE_RATE
    began = time.perf_counter()
    with wave.open(str(long.wav), "rb") as handle:
        fed = 0
        while fed < minutes * 60 * SAMPLE_RATE:
            raw = handle.readframes(piece)
            if not raw:
                break
            block = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
            session.feed(block)
            fed += len(block)
            if fed % (60 * SAMPLE_RATE) < piece:
                minute = round(fed / SAMPLE_RATE / 60)
                rss = process.memory_info().rss / 2**20
                timeline.append({"minute": minute, "rss_mb": round(rss, 1),
                                 "wall_s": round(time.perf_counter() - began, 1),
                                 "stored_embeddings": session._speakers.clusterer.stored_embeddings()
                                 if session._speakers else 0,
                                 "buffer_s": round(session._recognizer.buffer_end - session._recognizer.buffer_start, 1)})
                if minute == 5:
                    samples["rss_5min_mb"] = rss
                print(json.dumps(timeline[-1]), flush=True)
    session.finish()
    samples["rss_end_mb"] = process.memory_info().rss / 2**20
    samples["minutes"] = fed / SAMPLE_RATE / 60
    samples["growth_mb"] = samples["rss_end_mb"] - samples.get("rss_5min_mb", samples["rss_end_mb"])
    samples["words"] = len(session.transcript().words)
    return {**samples, "timeline": timeline}


def summarise(rows: list[dict]) -> dict:
    """Per model: latency percentiles over every matched word of its sessions, mean WER/WDER live and offline,
    the largest lag at the end, and each criterion of the issue checked."""
    out: dict[str, Any] = {}
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        pooled = [v for r in mine for v in r["latency"]["values"]]
        entry: dict[str, Any] = {"sessions": [f"{r['id']} ({r['minutes']:.0f} min)" for r in mine],
                                 "words": len(pooled), "p50": _pct(pooled, 50), "p95": _pct(pooled, 95),
                                 "lag_end_max_s": max(r["lag_end_s"] for r in mine)}
        for who in ("live", "offline"):
            for key in ("wer", "wder"):
                values = [r[who][key] for r in mine if r[who].get(key) is not None]
                entry[f"{who}_{key}"] = statistics.fmean(values) if values else None
        out[model] = entry
    tiny, base = out.get("tiny.en"), out.get("base")
    checks = {}
    if tiny and tiny["p50"] is not None:
        checks["tiny.en p50 <= 1.5 s"] = tiny["p50"] <= 1.5
        checks["tiny.en p95 <= 3.0 s"] = tiny["p95"] <= 3.0
        checks["lag at the end <= tiny.en p95"] = tiny["lag_end_max_s"] <= tiny["p95"]
        if tiny["live_wer"] is not None and tiny["offline_wer"] is not None:
            checks["live WER within 0.03 of offline (tiny.en)"] = tiny["live_wer"] - tiny["offline_wer"] <= 0.03
        if tiny["live_wder"] is not None:
            checks["live WDER <= 0.10 (tiny.en)"] = tiny["live_wder"] <= 0.10
    if base and base["p95"] is not None:
        checks["base p95 <= 4.0 s"] = base["p95"] <= 4.0
    out["criteria"] = checks
    return out


def markdown(result: dict) -> str:
    lines = ["## Live sessions (therapybridge.live)", "",
             f"{result['date']}, {result['machine']['cpu']}; `{result['command']}`. Clock: {result['clock']}.", ""]
    lines += ["| session | model | min | words | latency p50 | p95 | max | lag at end | CPU s/s | live WER | offline WER "
              "| live WDER | offline WDER | spk found/true | relabels |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lat, live, off = r["latency"], r["live"], r.get("offline", {})

        def f(v, d=2):
            return "–" if v is None else f"{v:.{d}f}"

        lines.append(f"| {r['id']} | {r['model']} | {r['minutes']:.1f} | {lat['words']} | {f(lat['p50'])} | "
                     f"{f(lat['p95'])} | {f(lat['max'])} | {r['lag_end_s']:.2f} | {r['cpu_s_per_audio_s']:.2f} | "
                     f"{f(live.get('wer'), 3)} | {f(off.get('wer'), 3)} | {f(live.get('wder'), 3)} | "
                     f"{f(off.get('wder'), 3)} | {live.get('speakers_found')}/{live.get('speakers_true')} | "
                     f"{r['relabels']} |")
    for model, entry in result["summary"].items():
        if model == "criteria":
            continue

        def g(v, d=3):
            return "–" if v is None else f"{v:.{d}f}"

        lines += ["", f"**{model}** over {', '.join(entry['sessions'])}: {entry['words']} words, latency p50 "
                  f"{g(entry['p50'], 2)} s, p95 {g(entry['p95'], 2)} s; largest lag at the end {entry['lag_end_max_s']:.2f} s; "
                  f"WER live {g(entry['live_wer'])} vs offline {g(entry['offline_wer'])}; WDER live "
                  f"{g(entry['live_wder'])} vs offline {g(entry['offline_wder'])}."]
    criteria = result["summary"].get("criteria", {})
    if criteria:
        lines += ["", "| criterion | holds |", "|---|---|"]
        lines += [f"| {name} | {'yes' if ok else '**no**'} |" for name, ok in criteria.items()]
    rss = result.get("rss")
    if rss:
        lines += ["", f"Memory: RSS {rss['rss_5min_mb']:.0f} MB after 5 minutes, {rss['rss_end_mb']:.0f} MB after "
                  f"{rss['minutes']:.0f} minutes of input fed as fast as processed (growth {rss['growth_mb']:+.0f} MB; "
                  f"the criterion is within 200 MB)."]
    for note in result.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = corpus_parser(__doc__)
    parser.set_defaults(model="tiny.en")
    parser.add_argument("--clock", default="real", choices=["real", "simulated"])
    parser.add_argument("--minutes", type=float, default=None, help="feed only the first minutes of each session")
    parser.add_argument("--lag-session", default=None, help="one long session replayed for the lag (e.g. e10)")
    parser.add_argument("--lag-minutes", type=float, default=30.0)
    parser.add_argument("--base-sessions", nargs="*", default=[], help="sessions also run with base")
    parser.add_argument("--rss-minutes", type=float, default=0.0, help="also the memory check over this long")
    parser.add_argument("--rss-from", default=None, help="take the memory check from results/<NAME>.json")
    parser.add_argument("--options", default="{}", help="LiveOptions fields as JSON (development runs)")
    parser.add_argument("--note", action="append", default=[], help="a line for the markdown (what was run, why)")
    parser.add_argument("--restitch", action="store_true",
                        help="run nothing: rewrite the stored results (and their markdown) with --rss-from/--note")
    parser.add_argument("--name", default=None, help="results name (default live, live-dev for the dev half)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)

    os.environ.setdefault("OMP_NUM_THREADS", "2")
    from tests.corpus.build import CORPUS_CACHE, build_session
    from tests.corpus.sessions import session, split
    from therapybridge import AudioTranscriptionPipeline
    from therapybridge.live import LiveModels, LiveOptions

    if args.restitch:
        from benchmarks.common import RESULTS

        name = args.name or ("live" if args.split == "eval" else "live-dev")
        stored = json.loads((RESULTS / f"{name}.json").read_text())
        args.clock = stored["clock"]
        return _write(args, stored["command"].split()[3:], stored["rows"], final=stored.get("complete", False),
                      date=stored["date"])
    ids = args.sessions if args.sessions is not None else [s.id for s in split(args.split)]
    jobs = [(i, args.model, args.minutes) for i in ids] + [(i, "base", args.minutes) for i in args.base_sessions]
    if args.lag_session:
        jobs.append((args.lag_session, args.model, args.lag_minutes))
    rows: list[dict] = []
    loaded: dict[str, Any] = {}
    for sid, model, minutes in jobs:
        options = LiveOptions(model=model, cpu_threads=2, **json.loads(args.options))
        if model not in loaded:
            loaded[model] = (LiveModels.load(options), AudioTranscriptionPipeline(device="cpu", asr__model=model))
        models, pipeline = loaded[model]
        built = build_session(session(sid))
        offline = _offline(pipeline, built, CORPUS_CACHE / "transcripts" / model)
        keep = CORPUS_CACHE / "transcripts" / model / "live" / f"{sid}.{args.clock}.json"
        row = run_session(models, options, built, offline, args.clock, minutes, keep)
        words, turns = _offline_words(offline)
        row["offline"] = _scores(built, words, turns, minutes * 60 if minutes else None)
        rows.append(row)
        print(json.dumps(row), flush=True)
        _write(args, argv, rows)  # after every session: a run stopped early keeps what it measured
    return _write(args, argv, rows, final=True)


def _write(args, argv: list[str], rows: list[dict], final: bool = False, date: str | None = None) -> int:
    from therapybridge.live import LiveModels, LiveOptions

    result: dict[str, Any] = {"date": date or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
                              "clock": args.clock, "command": "python -m benchmarks.bench_live " + " ".join(argv or []),
                              "rows": rows, "summary": summarise(rows)}
    if args.rss_minutes and final and not args.restitch:
        options = LiveOptions(model=args.model, cpu_threads=2)
        result["rss"] = rss_check(LiveModels.load(options), options, args.rss_minutes)
    if args.rss_from:
        from benchmarks.common import RESULTS

        stored_path = RESULTS / f"{args.rss_from}.json"
        stored = json.loads(stored_path.read_text()) if stored_path.exists() else {}
        if "rss" in stored:
            result["rss"] = {**stored["rss"], "measured": stored["date"], "command": stored["command"]}
    result["notes"] = args.note or (json.loads((RESULTS_DIR / f"{args.name or 'live'}.json").read_text()).get(
        "notes", []) if args.restitch else [])
    name = args.name or ("live" if args.split == "eval" else "live-dev")
    result["complete"] = final
    write_results(name, result, markdown(result))
    if final:
        print(json.dumps(result["summary"]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
