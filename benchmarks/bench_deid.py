"""De-identification recall and precision on scripted dialogues with planted identifiers, after our ASR.

    python -m benchmarks.bench_deid [--half report|tune] [--model base] [--reuse]
    python -m benchmarks.bench_deid --half tune --set asr__vad_speech_pad_ms=400 --output tmp-deid  # a candidate

The twenty dialogues of ``tests/corpus/deid`` (spoken by the corpus TTS, committed as Opus) are transcribed by the
ordinary pipeline (diarization on), so recognition errors count: a name Whisper misspells must still be found, and
a phone number it writes as digits must still be removed. ``therapybridge.deid`` then de-identifies each
transcript, and each planted identifier is located in the transcript by aligning the script's words to the
recognised words (edit-distance alignment over normalised tokens: lower case, digits one by one, number words
as digits, "@" as "at").

- **Recall** of a planted identifier: every recognised word aligned to it is inside a placeholder (a partial
  removal, "[NAME_1] Kwo", is a miss). An identifier the ASR dropped entirely is not in the transcript, so not
  scored; the count of those is reported.
- **Precision**: the share of placeholders that cover a word aligned to some planted identifier.
- **Recognition**: the pooled WER of the transcripts against the scripts (``therapybridge.evaluation``), so a
  change to recognition can be judged on the tune half too.

Recognisers were tuned on the tune half only (``deid01``-``deid15``); figures are reported on the report half
(``deid16``-``deid20``: its own voices, sentence templates and names, drawn after the tuning; the earlier report
half ``deid11``-``deid15`` became tuning material once its misses had been read). Transcripts are kept in
``tests/.generated/deid/`` (``--reuse`` reads them). Writes ``benchmarks/results/deid.json`` and ``deid.md``
(``deid-tune`` for the tune half).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from benchmarks.common import ROOT, machine, parse_setting, pooled_word_errors, write_results
from tests.corpus.deid.score import score_dialogue

DATA = ROOT / "tests" / "corpus" / "deid" / "data"
CACHE = ROOT / "tests" / ".generated" / "deid"
TARGETS = {"NAME": 0.95, "overall": 0.90, "precision": 0.80}

def summarise(scored: list[dict]) -> dict[str, Any]:
    from therapybridge.deid import CATEGORIES

    identifiers = [row for s in scored for row in s["identifiers"]]
    placeholders = [row for s in scored for row in s["placeholders"]]
    per = {}
    for category in (*CATEGORIES, "overall"):
        rows = [r for r in identifiers if category == "overall" or r["category"] == category]
        scored_rows = [r for r in rows if r["status"] != "dropped"]
        found = sum(1 for r in scored_rows if r["status"] == "found")
        alarms = [p for p in placeholders if category == "overall" or p["category"] == category]
        per[category] = {
            "planted": len(rows), "dropped_by_asr": len(rows) - len(scored_rows), "found": found,
            "missed": len(scored_rows) - found,
            "recall": found / len(scored_rows) if scored_rows else None,
            "placeholders": len(alarms), "false_alarms": sum(1 for p in alarms if not p["true"]),
            "precision": sum(1 for p in alarms if p["true"]) / len(alarms) if alarms else None,
        }
    kinds: dict[str, list] = {}
    for r in identifiers:
        if r["kind"] and r["status"] != "dropped":
            kinds.setdefault(f"{r['category']} ({r['kind']})", []).append(r["status"] == "found")
    per_kind = {k: {"n": len(v), "recall": sum(v) / len(v)} for k, v in sorted(kinds.items())}
    return {"categories": per, "kinds": per_kind}


def transcribe(ids: list[str], model: str, reuse: bool,
               changes: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, float]]:
    """The pipeline's transcript of each dialogue; only those of the default settings are cached."""
    from therapybridge.pipeline import AudioTranscriptionPipeline
    from therapybridge.writers import read_json, write_outputs

    CACHE.mkdir(parents=True, exist_ok=True)
    pipeline = None
    transcripts, walls = {}, {}
    for dialogue_id in ids:
        path = CACHE / f"{dialogue_id}.json"
        if reuse and not changes and path.exists():
            transcripts[dialogue_id] = read_json(path)
            continue
        pipeline = pipeline or AudioTranscriptionPipeline(device="cpu", asr__model=model, **(changes or {}))
        started = time.perf_counter()
        transcripts[dialogue_id] = pipeline.process(str(DATA / f"{dialogue_id}.opus"))
        walls[dialogue_id] = time.perf_counter() - started
        if not changes:
            write_outputs(transcripts[dialogue_id], CACHE, dialogue_id, ["json"])
    return transcripts, walls


def recognition(scripts: dict[str, dict], transcripts: dict[str, Any]) -> dict[str, Any]:
    """Pooled WER of the transcripts against the dialogues' scripts, with its deletions and insertions."""
    from therapybridge.evaluation import word_error_rate

    scores = [word_error_rate(" ".join(s["text"] for s in scripts[i]["sentences"]),
                              " ".join(w.word.strip() for w in t.words)) for i, t in transcripts.items()]
    words = pooled_word_errors({"ref_words": s.reference_words, "substitutions": s.substitutions,
                                "deletions": s.deletions, "insertions": s.insertions} for s in scores)
    return {k: words[k] for k in ("ref_words", "errors", "wer", "deletions", "insertions")}


def run(half: str, model: str, reuse: bool, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    from therapybridge.deid import Deidentifier, deidentify_transcript

    scripts = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(DATA.glob("deid*.json"))}
    ids = [i for i, s in scripts.items() if s["half"] == half]
    transcripts, walls = transcribe(ids, model, reuse, changes)
    started = time.perf_counter()
    engine = Deidentifier().load()
    load_s = time.perf_counter() - started
    scored, deid_s = [], []
    for dialogue_id in ids:
        started = time.perf_counter()
        result = deidentify_transcript(transcripts[dialogue_id], engine)
        deid_s.append(time.perf_counter() - started)
        scored.append({"id": dialogue_id, **score_dialogue(scripts[dialogue_id], transcripts[dialogue_id], result)})
    summary = summarise(scored)
    return {
        "half": half, "model": model, "dialogues": ids, "date": time.strftime("%Y-%m-%d"), "machine": machine(),
        "audio_minutes": round(sum(t.audio.duration for t in transcripts.values()) / 60, 2),
        "asr_wall_s": walls, "analyzer_load_s": round(load_s, 2),
        "deid_s_per_dialogue_median": round(statistics.median(deid_s), 3),
        "targets": TARGETS, "summary": summary, "per_dialogue": scored,
        "recognition": recognition(scripts, transcripts), "settings": changes or {},
    }


def _f(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown(result: dict) -> str:
    per = result["summary"]["categories"]
    overall = per["overall"]
    holds = {
        "names recall ≥ 0.95": per["NAME"]["recall"] is not None and per["NAME"]["recall"] >= TARGETS["NAME"],
        "overall recall ≥ 0.90": overall["recall"] is not None and overall["recall"] >= TARGETS["overall"],
        "precision ≥ 0.80": overall["precision"] is not None and overall["precision"] >= TARGETS["precision"],
    }
    weak = [c for c, v in per.items() if c != "overall" and v["recall"] is not None and v["recall"] < TARGETS["overall"]]
    lines = [
        f"## De-identification ({result['half']} half of the planted-identifier dialogues, after our ASR)",
        "",
        f"{len(result['dialogues'])} dialogues, {result['audio_minutes']} min of Kokoro speech "
        f"(`tests/corpus/deid`), recognised by the ordinary pipeline (model `{result['model']}`, diarization on), "
        f"then `therapybridge.deid` (Presidio + spaCy `en_core_web_sm` + spoken-form recognisers). "
        f"{result['date']}, {result['machine']['cpu']}. Recall: a planted identifier counts as found only when "
        "every recognised word aligned to it is inside a placeholder; identifiers the ASR dropped are not scored "
        "(counted). Precision: placeholders covering a planted identifier's word / all placeholders. "
        "Recognisers were tuned on the tune half only.",
        "",
        "| category | planted | dropped by ASR | found | missed | recall | placeholders | false alarms | precision |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for category, v in per.items():
        lines.append(f"| {category} | {v['planted']} | {v['dropped_by_asr']} | {v['found']} | {v['missed']} | "
                     f"{_f(v['recall'])} | {v['placeholders']} | {v['false_alarms']} | {_f(v['precision'])} |")
    lines += ["", "By spoken form (recall):", "", "| form | n | recall |", "|---|---|---|"]
    lines += [f"| {k} | {v['n']} | {_f(v['recall'])} |" for k, v in result["summary"]["kinds"].items()]
    lines += [
        "",
        "Targets: " + "; ".join(f"{k}: {'holds' if ok else '**does not hold**'}" for k, ok in holds.items()) + ".",
        f"Weak categories (recall below 0.90): {', '.join(weak) if weak else 'none'}.",
        f"Analyzer load {result['analyzer_load_s']} s; de-identifying one dialogue takes "
        f"{result['deid_s_per_dialogue_median']} s (median).",
    ]
    r = result.get("recognition")
    if r:
        lines.append(f"Recognition on these dialogues: WER {r['wer']:.3f} ({r['errors']} errors of {r['ref_words']} "
                     f"words; {r['deletions']} deletions, {r['insertions']} insertions).")
    if result.get("settings"):
        lines.append("Settings changed from the defaults (a candidate, not the default): "
                     + ", ".join(f"`{k}={v}`" for k, v in result["settings"].items()) + ".")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--half", default="report", choices=["report", "tune"])
    parser.add_argument("--model", default="base")
    parser.add_argument("--reuse", action="store_true", help="read cached transcripts instead of recognising again")
    parser.add_argument("--set", action="append", default=[], metavar="STAGE__FIELD=VALUE",
                        help="a pipeline setting changed from the default (a candidate; its transcripts are not cached)")
    parser.add_argument("--output", help="results name (default deid, or deid-tune for the tune half)")
    args = parser.parse_args(argv)
    result = run(args.half, args.model, args.reuse, dict(parse_setting(text) for text in args.set))
    name = args.output or ("deid" if args.half == "report" else "deid-tune")
    write_results(name, result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
