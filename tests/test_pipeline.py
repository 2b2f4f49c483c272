"""The whole pipeline on the real two-speaker sample with real models: accuracy and the result's contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.references import SAMPLE_RTTM, SAMPLE_STM, SAMPLE_WAV, reference_text
from therapybridge.evaluation import read_rttm, read_stm, score_diarization, word_error_rate

STAGES = ("Audio Preprocessing", "Whisper Transcription", "Speaker Diarization", "Speaker Alignment")


def test_sample_wer_is_within_target(sample_transcript):
    error = word_error_rate(reference_text(), sample_transcript.text).wer
    # WER measured 0.149; the same pipeline on real_voice_session(3 min) seeds 0 and 2: 0.167, 0.179 (seed 1: 0.332,
    # a stretch of speech not recognised at all: a recognition failure, left out of the spread). sd of the three
    # = 0.015; threshold = 0.149 + 2 sd = 0.179 -> 0.18 (was 0.17).
    assert error <= 0.18, f"WER {error:.3f} on the sample"


def test_sample_finds_two_speakers_with_low_der(sample_transcript):
    assert len(sample_transcript.speakers) == 2
    error = score_diarization(read_rttm(SAMPLE_RTTM), sample_transcript.segments).der
    assert error <= 0.25, f"DER {error:.3f} on the sample"


def test_written_rttm_carries_the_diarizer_turns_and_scores_low_der(sample_transcript):
    """The RTTM is the diarizer's own turns (overlaps kept), not turns rebuilt from transcript segments.

    Measured: 0.067 from the turns (segments rebuilt into turns scored 0.204). No collar, overlap scored.
    """
    from therapybridge.types import SCHEMA_VERSION
    from therapybridge.writers import get_writer, parse_rttm

    turns = sample_transcript.turns
    assert turns and {t.speaker for t in turns} == {s.id for s in sample_transcript.speakers}
    assert [t.start for t in turns] == sorted(t.start for t in turns)
    assert sample_transcript["turns"][0] == turns[0].to_dict()
    assert sample_transcript["provenance"]["schema_version"] == SCHEMA_VERSION
    written = parse_rttm(get_writer("rttm").render(sample_transcript))
    error = score_diarization(read_rttm(SAMPLE_RTTM), written).der
    # The bar is the realistic-sessions issue's own acceptance figure for this file (<= 0.08, no collar). The input
    # and models are fixed, so the figure does not vary from run to run (0.067 measured on every run); other
    # sessions spread more (real_voice_session seeds 0-2: 0.098, 0.092, 0.127), which the corpus tests cover.
    assert error <= 0.08, f"DER {error:.3f} of the written RTTM on the sample"


def test_every_word_has_a_speaker_and_segments_are_homogeneous(sample_transcript):
    ids = {s.id for s in sample_transcript.speakers}
    for segment in sample_transcript.segments:
        assert segment.speaker in ids
        assert all(word.speaker == segment.speaker for word in segment.words)


def test_times_are_on_the_original_clock(sample_transcript):
    words = sample_transcript.words
    assert words, "no words recognised"
    # The sample's speech starts at 6.7 s after leading silence that preprocessing trims: times must not shift.
    assert 6.0 <= words[0].start <= 7.5
    assert words[-1].end <= sample_transcript.audio.duration + 0.05
    starts = [w.start for w in words if w.start is not None]
    assert starts == sorted(starts)


def test_result_is_a_frozen_dataclass_and_a_read_only_mapping(sample_transcript):
    assert sample_transcript["segments"][0]["text"] == sample_transcript.segments[0].text
    assert sample_transcript["performance_metrics"]["total_duration"] > 0
    with pytest.raises(Exception):
        sample_transcript.language = "fr"  # type: ignore[misc]
    with pytest.raises(TypeError):
        sample_transcript["language"] = "fr"  # type: ignore[index]
    json.dumps(sample_transcript.to_dict())


def test_performance_metrics_are_real_measurements(sample_transcript):
    metrics = sample_transcript["performance_metrics"]
    stages = metrics["stages"]
    for name in STAGES:
        assert stages[name]["duration"] > 0, name
    assert sum(stages[name]["duration"] for name in STAGES) <= metrics["total_duration"] * 1.01
    assert "model_loading" in stages["Whisper Transcription"]["subprocesses"]


def test_provenance_names_model_and_settings(sample_transcript):
    provenance = sample_transcript["provenance"]
    assert provenance["model"] == "base"
    assert len(provenance["model_sha256"]) == 64
    assert provenance["schema_version"] and provenance["tool_version"]
    assert provenance["settings"]["asr"]["beam_size"] == 5


def test_seed_usage_runs_as_written(tmp_path, monkeypatch, pipeline):
    from therapybridge import AudioTranscriptionPipeline

    import math
    import time

    monkeypatch.chdir(tmp_path)
    seeded = AudioTranscriptionPipeline(enable_performance_logging=True, output_dir="outputs/performance_logs")
    started = time.perf_counter()
    result = seeded.process(str(SAMPLE_WAV), enable_diarization=True)
    wall = time.perf_counter() - started
    total = result["performance_metrics"]["total_duration"]
    line = f"Total time: {total:.2f}s"
    # The figure the seed prints is this run's own time: positive, finite, and the wall time the call took.
    assert isinstance(total, float) and math.isfinite(total) and total > 0
    assert 0.8 * wall <= total <= wall, (total, wall)
    assert float(line.removeprefix("Total time: ").removesuffix("s")) == round(total, 2)
    reports = sorted(p.name for p in (tmp_path / "outputs" / "performance_logs").iterdir())
    assert "sample.perf.json" in reports


def test_the_written_json_and_the_returned_transcript_agree(tmp_path, pipeline):
    # The metrics are taken once, before writing: the file and the result carry the same figures.
    result = pipeline.process(SAMPLE_WAV, enable_diarization=False, output_dir=tmp_path, formats=("json",))
    written = json.loads((tmp_path / "sample.json").read_text(encoding="utf-8"))
    assert written["performance_metrics"] == result.to_dict()["performance_metrics"]
    assert written["performance_metrics"]["total_duration"] > 0


def test_process_item_returns_a_failure_instead_of_raising(tmp_path, pipeline):
    item = pipeline.process_item(tmp_path / "missing.wav")
    assert not item.ok and item.transcript is None and "no such file" in str(item.error)


def test_diarization_off_gives_null_speakers(pipeline):
    result = pipeline.process(SAMPLE_WAV, enable_diarization=False)
    assert result.speakers == () and result.turns == ()
    assert all(s.speaker is None for s in result.segments)
    assert all(w.speaker is None for w in result.words)
    assert "Speaker Diarization" not in result["performance_metrics"]["stages"]


class _Heard(Exception):
    pass


@pytest.mark.parametrize("original_level", [True, False])
def test_recognition_decodes_the_recording_at_its_own_level(pipeline, monkeypatch, original_level):
    """The loudness gain (the sample gets +8.9 dB) is undone for the decoder alone, unless turned off."""
    from therapybridge import AudioTranscriptionPipeline
    from therapybridge.audio import preprocess

    gain_db = preprocess(str(SAMPLE_WAV)).step("normalization").metadata["gain_db"]
    assert gain_db > 3.0
    if not original_level:
        pipeline = AudioTranscriptionPipeline(device="cpu", asr__decode_original_level=False)
    transcriber = pipeline.models.transcriber()
    seen: list[float] = []

    def heard(audio, sample_rate, *, profiler, decode_gain=1.0):
        seen.append(decode_gain)
        raise _Heard("enough")

    monkeypatch.setattr(transcriber, "transcribe", heard)
    with pytest.raises(Exception):
        pipeline.process(SAMPLE_WAV, enable_diarization=False)
    expected = 10.0 ** (-gain_db / 20.0) if original_level else 1.0
    assert seen == [pytest.approx(expected, rel=1e-3)]


def test_speaker_count_hint_is_honoured(pipeline):
    result = pipeline.process(SAMPLE_WAV, num_speakers=1)
    assert [s.id for s in result.speakers] == ["SPEAKER_00"]
    assert {w.speaker for w in result.words} == {"SPEAKER_00"}


@pytest.mark.parametrize(("mode", "per_channel"), [(True, True), (None, True), (None, False)],
                         ids=["asked", "auto", "auto-mix-recognised"])
def test_channel_speakers_diarizes_by_channel(mode, per_channel):
    from therapybridge import AudioTranscriptionPipeline
    from tests.datagen import stereo_channel_session

    path, reference = stereo_channel_session(minutes=1.0)
    pipeline = AudioTranscriptionPipeline(device="cpu", asr__model="tiny.en", diarization__channel_speakers=mode,
                                          asr__per_channel=per_channel)
    result = pipeline.process(path)
    assert len(result.speakers) == 2
    pairs = []
    for word in result.words:
        middle = (word.start + word.end) / 2
        truth = [t.speaker for t in reference.turns if t.start <= middle <= t.end]
        if truth:
            pairs.append((word.speaker, truth[0]))
    mapping = {hyp: max(set(r for h, r in pairs if h == hyp), key=[r for h, r in pairs if h == hyp].count)
               for hyp in {h for h, _ in pairs}}
    accuracy = sum(mapping[h] == r for h, r in pairs) / len(pairs)
    # Measured on 2026-12-04 over stereo_channel_session(1.0, seed 0-5), tiny.en: recognised per channel 0.968,
    # 0.960, 0.958, 0.993, 0.985, 0.981 (mean 0.974, sd 0.014); the mix recognised once, its words aligned to the
    # channel turns, 0.896, 0.879, 0.973, 0.978, 0.957, 0.918 (mean 0.933, sd 0.040). Bounds: mean - 2 sd.
    bound = 0.94 if per_channel else 0.85
    assert len(set(mapping.values())) == 2 and accuracy >= bound, f"word-speaker accuracy {accuracy:.3f} by channel"
    subprocesses = result["performance_metrics"]["stages"]["Speaker Diarization"]["subprocesses"]
    assert subprocesses["channel_activity"]
    assert ("channel_check" in subprocesses) == (mode is None)
    recognition = result["performance_metrics"]["stages"]["Whisper Transcription"]["subprocesses"]
    assert ("channel_recognition" in recognition) == per_channel


def test_a_stereo_copy_of_one_mix_is_diarized_as_a_mix(pipeline, tmp_path):
    from tests.datagen import read_wav, write_wav

    mono, rate = read_wav(SAMPLE_WAV)
    path = tmp_path / "both-channels.wav"
    write_wav(path, np.stack([mono, mono]), rate)
    result = pipeline.process(path)
    subprocesses = result["performance_metrics"]["stages"]["Speaker Diarization"]["subprocesses"]
    assert "channel_check" in subprocesses and "channel_activity" not in subprocesses
    assert result.provenance["settings"]["diarization_info"].get("engine") != "channels"
    assert len(result.speakers) == 2


def test_a_mono_recording_is_not_decoded_again_for_its_channels(sample_transcript):
    subprocesses = sample_transcript["performance_metrics"]["stages"]["Speaker Diarization"]["subprocesses"]
    assert "load_channels" not in subprocesses and "channel_check" not in subprocesses


def test_channel_speakers_on_a_mono_file_is_a_clear_error(pipeline):
    from therapybridge import AudioTranscriptionPipeline
    from therapybridge.errors import ConfigurationError

    mono = AudioTranscriptionPipeline(device="cpu", asr__model="tiny.en", diarization__channel_speakers=True)
    with pytest.raises(ConfigurationError, match="one speaker per channel"):
        mono.process(SAMPLE_WAV)


def test_word_speaker_accuracy_end_to_end(sample_transcript):
    """Issue 6's end-to-end figure: our words, our diarization, scored against sample.stm's speakers
    (therapybridge.evaluation: speakers mapped by the DER mapping, accuracy over the recognised words)."""
    from therapybridge.evaluation import score_turns_and_words

    score = score_turns_and_words(read_rttm(SAMPLE_RTTM), sample_transcript.turns, sample_transcript.words,
                                  read_stm(SAMPLE_STM)).attribution
    # Recognised share measured 79/87 = 0.908 (align.metrics counted 75/81 = 0.926); real_voice_session(3 min)
    # seeds 0, 2: 0.956, 0.968 (seed 1: 0.769, the recognition gap above, which this bar is meant to catch).
    assert score.recognised_words >= 0.9 * score.reference_words
    # Accuracy measured 0.975 (align.metrics, per-word mapping: 0.973); seeds 0-2: 0.954, 0.942, 0.975 (sd 0.017).
    # Threshold kept: the lowest file minus 2 sd is 0.908.
    assert score.word_speaker_accuracy >= 0.90, f"word-speaker accuracy {score.word_speaker_accuracy:.3f}"


def test_enrolled_therapist_is_labelled_by_name_and_the_other_speaker_is_the_client(tmp_path, pipeline):
    """Enroll one real voice from half of her utterances, then transcribe a session built from the other half
    (held-out audio): labels and roles reach the JSON."""
    import numpy as np

    from therapybridge import AudioTranscriptionPipeline
    from therapybridge.roles import ProfileStore
    from tests.roles import voices

    sample = voices.sample_enrollment_clip(tmp_path / "diane-fold0.wav", "Diane", 0)
    # Told there are two speakers, as a clinician would be (unhinted, the engine splits Diane's repeated held-out
    # cuts into clusters of their own: tests/roles/conftest.py real_session).
    session = voices.held_out_session("Diane", enrolled_fold=0, minutes=3.0)
    store = ProfileStore(tmp_path / "profiles")
    store.enroll("Dr. Diane", "therapist", [sample], device="cpu")

    labelled = AudioTranscriptionPipeline(device="cpu", roles__profiles_dir=str(store.directory)).process(
        session.wav, num_speakers=2
    )
    roles = {s.role: s for s in labelled.speakers}
    assert set(roles) == {"therapist", "client"}
    assert roles["therapist"].label == "Therapist (Dr. Diane)" and roles["client"].label == "Client"
    assert roles["therapist"].match_score is not None
    spans = [(t.start, t.end) for t in session.turns if t.speaker == "Diane"]
    in_diane = [w for w in labelled.words if any(a <= (w.start + w.end) / 2 <= b for a, b in spans)]
    assert len(in_diane) >= 50
    share = np.mean([w.speaker == roles["therapist"].id for w in in_diane])
    assert share >= 0.8, f"only {share:.0%} of the enrolled speaker's words are labelled therapist"

    unlabelled = AudioTranscriptionPipeline(device="cpu", roles__enabled=False).process(SAMPLE_WAV)
    assert all(s.role is None and s.label == s.id for s in unlabelled.speakers)


@pytest.mark.skipif(not hasattr(__import__("os"), "setpriority"), reason="per-thread nice values are a Linux feature")
def test_prefetch_priority_is_lowered_for_its_own_thread_only():
    import os
    import threading

    from therapybridge.pipeline.prefetch import run_at_idle_priority

    seen: dict[str, int] = {}

    def prefetcher() -> None:
        run_at_idle_priority()
        seen["prefetch"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = threading.Thread(target=prefetcher)
    worker.start()
    worker.join()
    assert seen["prefetch"] == 19
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
