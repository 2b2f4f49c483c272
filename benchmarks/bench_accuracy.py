"""Accuracy of the whole pipeline on the bundled real sample, default settings, against bare faster-whisper.

    python -m benchmarks.bench_accuracy

WER: Whisper's English normaliser on both sides, against `tests/data/sample.stm`. DER: pyannote.metrics, no collar,
overlap scored, against `tests/data/sample.rttm`, with the RTTM we write (the diarizer's own turns) as the hypothesis. Word-speaker
accuracy: issue 6's metric (edit-distance word alignment, best one-to-one speaker mapping). WER and DER come from
``therapybridge.evaluation``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def bare_faster_whisper_wer(model: str) -> float:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from therapybridge.asr.models import resolve_model
    from therapybridge.evaluation import word_error_rate
    from tests.references import SAMPLE_WAV, reference_text

    whisper = WhisperModel(str(resolve_model(model).path), device="cpu", compute_type="int8")
    segments, _ = BatchedInferencePipeline(model=whisper).transcribe(
        str(SAMPLE_WAV), batch_size=8, beam_size=5, word_timestamps=True
    )
    return word_error_rate(reference_text(), " ".join(s.text for s in segments)).wer


def main() -> int:
    from therapybridge import AudioTranscriptionPipeline
    from therapybridge.evaluation import read_rttm, read_stm, score_diarization, score_turns_and_words, word_error_rate
    from therapybridge.writers import get_writer, parse_rttm
    from tests.references import SAMPLE_RTTM, SAMPLE_STM, SAMPLE_WAV, reference_text

    rows = []
    for model in ("base", "tiny.en"):
        result = AudioTranscriptionPipeline(device="cpu", asr__model=model).process(SAMPLE_WAV)
        attribution = score_turns_and_words(read_rttm(SAMPLE_RTTM), result.turns, result.words,
                                            read_stm(SAMPLE_STM)).attribution
        rows.append({
            "model": model,
            "wer": word_error_rate(reference_text(), result.text).wer,
            "bare_faster_whisper_wer": bare_faster_whisper_wer(model),
            "der": score_diarization(read_rttm(SAMPLE_RTTM), parse_rttm(get_writer("rttm").render(result))).der,
            "speakers": len(result.speakers),
            "word_speaker_accuracy": attribution.word_speaker_accuracy,
        })
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "accuracy.json").write_text(json.dumps(rows, indent=2))
    lines = [
        "## Accuracy on the real sample (30 s, two speakers)",
        "",
        "`python -m benchmarks.bench_accuracy`: the whole pipeline with default settings (diarization on, no hints) "
        "on `tests/data/sample.wav`. WER after Whisper's English normaliser vs `sample.stm`; DER with "
        "pyannote.metrics, no collar, overlap scored, vs `sample.rttm`; bare faster-whisper is "
        "`BatchedInferencePipeline` (batch 8, beam 5) on the same file.",
        "",
        "| model | WER (ours) | WER (bare faster-whisper) | DER | speakers found | word-speaker accuracy |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['model']} | {row['wer']:.3f} | {row['bare_faster_whisper_wer']:.3f} | {row['der']:.3f} | "
                     f"{row['speakers']} | {row['word_speaker_accuracy']:.3f} |")
    (RESULTS / "accuracy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
