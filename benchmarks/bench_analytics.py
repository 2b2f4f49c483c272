"""Session analytics from our own diarization against the generator's event log, on the realistic-sessions corpus.

    python -m benchmarks.bench_analytics [--split eval|dev] [--sessions ID ...] [--model base] [--reuse]

Per session: our pipeline end to end (the transcript a user gets, unhinted); its analytics
(``therapybridge.analytics``, from the diarizer's turns and the words) are compared with the figures the session's
event log implies (``tests/analytics/eventlog.py``, worked out without our code). Our speakers are matched to the
reference speakers by the largest total overlap of their speech. Targets: talk-time share within 3 percentage
points of the reference for every speaker, median response latency within 150 ms.

Transcripts are kept under ``tests/.generated/corpus/transcripts/`` (``--reuse`` reads them instead of running
the pipeline again). Writes ``benchmarks/results/analytics.json`` and ``analytics.md`` (``analytics-dev`` for the
development half).
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.common import corpus_parser, machine, write_results

SHARE_TARGET = 0.03
LATENCY_TARGET = 0.150


def _overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        total += max(0.0, min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def match_speakers(reference: dict[str, list], ours: dict[str, list]) -> dict[str, str | None]:
    """Reference speaker -> our speaker, the one-to-one mapping with the largest total overlap (brute force)."""
    ref_ids, our_ids = list(reference), list(ours)
    best, best_total = {r: None for r in ref_ids}, -1.0
    padded = our_ids + [None] * len(ref_ids)
    for perm in itertools.permutations(padded, len(ref_ids)):
        total = sum(_overlap(reference[r], ours[o]) for r, o in zip(ref_ids, perm) if o is not None)
        if total > best_total:
            best, best_total = dict(zip(ref_ids, perm)), total
    return best


def _transcript(pipeline, built, cache: Path, reuse: bool):
    from therapybridge.writers import read_json, write_outputs

    path = cache / f"{built.spec.id}.json"
    if reuse and path.exists():
        return read_json(path), None
    started = time.perf_counter()
    transcript = pipeline.process(built.audio)
    wall = time.perf_counter() - started
    write_outputs(transcript, cache, built.spec.id, ["json"])
    return transcript, wall


def session_row(built, transcript) -> dict[str, Any]:
    from tests.analytics.eventlog import expected
    from therapybridge.analytics import analytics_of
    from therapybridge.analytics.compute import union

    want = expected(built)
    got = analytics_of(transcript)
    ref_speech = {v: union([(a, b) for e in built.events if e.speaker == v for a, b in e.islands])
                  for v in built.speakers}
    our_speech = {s.id: union([(t.start, t.end) for t in transcript.turns if t.speaker == s.id])
                  for s in got.speakers if s.id is not None}
    mapping = match_speakers(ref_speech, our_speech)
    speakers = []
    for voice in built.speakers:
        ours = got.speaker(mapping[voice]) if mapping[voice] is not None else None
        ref = want["speakers"][voice]
        share = ours.talk_share if ours is not None and ours.talk_share is not None else 0.0
        speakers.append({
            "reference": voice, "ours": mapping[voice], "role": next(e.role for e in built.events if e.speaker == voice),
            "talk_share_ref": ref["talk_share"], "talk_share": share,
            "talk_share_error_pp": abs(share - ref["talk_share"]) * 100,
            "turns_ref": ref["turns"], "turns": ours.turns if ours else 0,
            "wpm_ref": ref["words_per_minute"], "wpm": ours.words_per_minute if ours else None,
            "question_share_ref": ref["question_share"], "question_share": ours.question_share if ours else None,
        })
    latency_ref, latency = want["latency_median"], got.interaction.latency.median
    row = {
        "id": built.spec.id, "kind": built.spec.kind, "minutes": round(built.duration / 60, 1),
        "conditions": list(built.spec.conditions),
        "speakers_ref": len(built.speakers), "speakers_found": len(our_speech),
        "speakers": speakers,
        "max_share_error_pp": max(s["talk_share_error_pp"] for s in speakers),
        "latency_median_ref": latency_ref, "latency_median": latency,
        "latency_error_ms": abs(latency - latency_ref) * 1000 if latency is not None and latency_ref is not None
        else None,
        "latency_p90_ref": want["latency_p90"], "latency_p90": got.interaction.latency.p90,
        "interruptions_ref": want["interruptions"], "interruptions": got.interaction.interruptions,
        "backchannels_per_minute_ref": want["backchannels_per_minute"],
        "backchannels_per_minute": got.interaction.backchannels_per_minute,
        "overlap_ref": want["overlap_time"], "overlap": got.interaction.overlap_time,
        "silence_ref": want["silence_total"], "silence": got.silence.total,
        "long_silences_ref": len(want["long_silences"]), "long_silences": len(got.silence.long),
    }
    return row


def summarise(rows: list[dict]) -> dict[str, Any]:
    shares = [s["talk_share_error_pp"] for r in rows for s in r["speakers"] if r["speakers_ref"] > 1]
    latencies = [r["latency_error_ms"] for r in rows if r["latency_error_ms"] is not None]
    multi = [r for r in rows if r["speakers_ref"] > 1]
    return {
        "sessions": len(rows),
        "talk_share_error_pp_mean": statistics.mean(shares) if shares else None,
        "talk_share_error_pp_max": max(shares) if shares else None,
        "sessions_share_within_3pp": sum(1 for r in multi if r["max_share_error_pp"] <= SHARE_TARGET * 100),
        "latency_error_ms_mean": statistics.mean(latencies) if latencies else None,
        "latency_error_ms_max": max(latencies) if latencies else None,
        "sessions_latency_within_150ms": sum(1 for v in latencies if v <= LATENCY_TARGET * 1000),
        "sessions_with_latency": len(latencies),
        "multi_speaker_sessions": len(multi),
    }


def _f(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(result: dict) -> str:
    s = result["summary"]
    lines = [
        "## Session analytics (realistic-sessions corpus, our diarization vs the event log)",
        "",
        f"{result['split']} half, model `{result['model']}`, {result['date']}, {result['machine']['cpu']}. "
        "Talk-time share error in percentage points (every speaker of the multi-speaker sessions), median response "
        "latency error in ms; targets 3 pp and 150 ms. `python -m benchmarks.bench_analytics`.",
        "",
        f"Talk-time share: mean error {_f(s['talk_share_error_pp_mean'])} pp, max {_f(s['talk_share_error_pp_max'])} "
        f"pp; {s['sessions_share_within_3pp']} of {s['multi_speaker_sessions']} multi-speaker sessions within 3 pp. "
        f"Median latency: mean error {_f(s['latency_error_ms_mean'], 0)} ms, max {_f(s['latency_error_ms_max'], 0)} "
        f"ms; {s['sessions_latency_within_150ms']} of {s['sessions_with_latency']} sessions within 150 ms."
        + (f" Not run: {', '.join(result['not_run'])}." if result.get("not_run") else ""),
        "",
        "| session | kind | min | spk (found) | max share err pp | latency med ref / ours (ms) | err ms "
        "| interruptions ref / ours | backch./min ref / ours | silence s ref / ours |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["sessions"]:
        lat = (f"{_f(r['latency_median_ref'] * 1000 if r['latency_median_ref'] is not None else None, 0)} / "
               f"{_f(r['latency_median'] * 1000 if r['latency_median'] is not None else None, 0)}")
        lines.append(
            f"| {r['id']} | {r['kind']} | {r['minutes']} | {r['speakers_ref']} ({r['speakers_found']}) "
            f"| {_f(r['max_share_error_pp'])} | {lat} | {_f(r['latency_error_ms'], 0)} "
            f"| {r['interruptions_ref']} / {r['interruptions']} "
            f"| {_f(r['backchannels_per_minute_ref'])} / {_f(r['backchannels_per_minute'])} "
            f"| {_f(r['silence_ref'], 1)} / {_f(r['silence'], 1)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = corpus_parser(__doc__)
    parser.add_argument("--reuse", action="store_true", help="read saved transcripts instead of transcribing")
    parser.add_argument("--only-saved", action="store_true",
                        help="only the sessions whose transcripts are saved (implies --reuse; the others are listed)")
    args = parser.parse_args(argv)

    from tests.corpus.build import CORPUS_CACHE, build_session
    from tests.corpus.sessions import split
    from therapybridge import AudioTranscriptionPipeline

    specs = [s for s in split(args.split) if not args.sessions or s.id in args.sessions]
    cache = CORPUS_CACHE / "transcripts" / args.model
    skipped = []
    if args.only_saved:
        args.reuse = True
        skipped = [s.id for s in specs if not (cache / f"{s.id}.json").exists()]
        specs = [s for s in specs if s.id not in skipped]
    pipeline = AudioTranscriptionPipeline(device="cpu", asr__model=args.model)
    rows = []
    for spec in specs:
        built = build_session(spec)
        transcript, wall = _transcript(pipeline, built, cache, args.reuse)
        row = session_row(built, transcript)
        row["wall_s"] = wall
        rows.append(row)
        print(json.dumps({k: row[k] for k in ("id", "max_share_error_pp", "latency_median_ref", "latency_median",
                                              "latency_error_ms")}), flush=True)
    result = {"split": args.split, "model": args.model, "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "targets": {"talk_share_pp": SHARE_TARGET * 100, "latency_ms": LATENCY_TARGET * 1000},
              "sessions": rows, "not_run": skipped, "summary": summarise(rows)}
    name = "analytics" if args.split == "eval" and not args.sessions else f"analytics-{args.split}"
    write_results(name, result, markdown(result))
    print(json.dumps(result["summary"]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
