"""The local faster-whisper backend on real audio with the real offline models."""

from __future__ import annotations

import numpy as np
import pytest

from therapybridge.asr import TranscribeOptions, load_transcriber
from therapybridge.asr.local import FasterWhisperTranscriber, _speech_regions, _without_loops
from therapybridge.errors import ConfigurationError, InvalidAudioError
from therapybridge.types import Word
from tests.references import SAMPLE_STM, reference_text
from therapybridge.evaluation import read_stm, word_error_rate

BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"


class RecordingProfiler:
    """Collects (name, metadata) of every sub-step, the way the pipeline's logger does (``span.set`` included)."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, dict]] = []

    def subprocess(self, name, **metadata):
        from contextlib import nullcontext
        from types import SimpleNamespace

        self.steps.append((name, metadata))
        return nullcontext(SimpleNamespace(set=metadata.update))


def text_of(result) -> str:
    return " ".join(s.text for s in result.segments)


@pytest.fixture(scope="module")
def base_sample(base, sample_audio):
    return base.transcribe(sample_audio, 16000)


def test_base_default_settings_meet_the_wer_bar(base_sample):
    assert base_sample.language == "en"
    assert base_sample.model == "base" and base_sample.model_sha256 == BASE_SHA256
    # The pipeline's WER on the sample is 0.149 (tests/test_pipeline.py derives its 0.18 from the spread over
    # real-voice seeds, sd 0.015); the transcriber alone gets the same bar.
    assert word_error_rate(reference_text(), text_of(base_sample)).wer <= 0.18


def test_words_are_timed_in_order_inside_their_segments(base_sample, sample_audio):
    duration = len(sample_audio) / 16000
    last_end = 0.0
    for segment in base_sample.segments:
        assert segment.words and 0.0 <= segment.start <= segment.end <= duration
        for word in segment.words:
            assert segment.start <= word.start <= word.end <= segment.end
            assert word.start >= last_end - 0.05  # DTW word times may touch, never go backwards
            assert 0.0 <= word.probability <= 1.0
            last_end = word.end
    # The sample's first words ("Hello?") are at 6.7 s: the VAD must not shift them.
    assert 6.0 <= base_sample.segments[0].words[0].start <= 7.2


def test_tiny_en_matches_bare_faster_whisper(tiny_en, sample_audio):
    from faster_whisper import BatchedInferencePipeline

    ours = word_error_rate(reference_text(), text_of(tiny_en.transcribe(sample_audio, 16000))).wer
    segments, _ = BatchedInferencePipeline(tiny_en.whisper_model).transcribe(
        sample_audio, batch_size=8, beam_size=5, word_timestamps=True
    )
    bare = word_error_rate(reference_text(), " ".join(s.text for s in segments)).wer
    assert ours <= 0.2
    assert ours <= bare + 0.005


def test_times_stay_on_the_clock_of_the_input(tiny_en, sample_audio):
    """Ten seconds of silence in front: the same words come back ten seconds later, removed silence or not."""
    import difflib

    def words(result):
        return [(w.word.strip(" .,?!").lower(), w.start) for s in result.segments for w in s.words]

    plain = words(tiny_en.transcribe(sample_audio, 16000))
    shifted = words(tiny_en.transcribe(np.concatenate([np.zeros(10 * 16000, np.float32), sample_audio]), 16000))
    matcher = difflib.SequenceMatcher(a=[w for w, _ in plain], b=[w for w, _ in shifted], autojunk=False)
    shifts = [
        shifted[block.b + k][1] - plain[block.a + k][1]
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    ]
    assert len(shifts) >= 0.8 * len(plain)
    assert np.median(shifts) == pytest.approx(10.0, abs=0.1)
    # A repeated word ("hello" ... "oh, hello") may pair with its twin; the rest must sit exactly 10 s later.
    assert np.mean(np.abs(np.array(shifts) - 10.0) < 0.3) >= 0.9


def test_speech_regions_do_not_depend_on_how_long_the_pauses_were(sample_audio):
    """The sample with 40 s quiet pauses between utterances, then with the middle of each pause removed down to two
    seconds (whole 20 ms frames, as preprocessing does): the VAD regions must cover the same audio in both, or
    Whisper's windows (and so its word times) differ."""
    utterances = read_stm(SAMPLE_STM)
    gaps = [int((utterances[i].end + utterances[i + 1].start) / 2 * 16000) for i in (1, 4, 7)]
    noise = (np.random.default_rng(5).standard_normal(40 * 16000) * 1e-3).astype(np.float32)  # -60 dBFS
    edges = [0, *gaps, len(sample_audio)]
    pieces = [part for lo, hi in zip(edges, edges[1:]) for part in (sample_audio[lo:hi], noise)]
    long_audio = np.concatenate(pieces[:-1])
    pause_middles = [gap + k * len(noise) + len(noise) // 2 for k, gap in enumerate(gaps)]
    removed = (len(noise) - 2 * 16000) // 320 * 320
    kept = [0, *[x for middle in pause_middles for x in (middle - removed // 2, middle + removed - removed // 2)]]
    kept.append(len(long_audio))
    short_audio = np.concatenate([long_audio[lo:hi] for lo, hi in zip(kept[::2], kept[1::2])])

    def on_long_clock(t: int) -> int:
        return t + removed * sum(t >= lo - k * removed for k, lo in enumerate(kept[2::2], start=1))

    opts = TranscribeOptions()
    long_regions = _speech_regions(long_audio, opts)
    short_regions = [(on_long_clock(s), on_long_clock(e - 1) + 1) for s, e in _speech_regions(short_audio, opts)]
    assert len(long_regions) >= 4
    assert short_regions == long_regions


@pytest.mark.parametrize("vad_filter", [True, False])
def test_silence_yields_no_words(base, vad_filter):
    transcriber = FasterWhisperTranscriber({"model": "base", "vad_filter": vad_filter}, "cpu")
    result = transcriber.transcribe(np.zeros(20 * 16000, np.float32), 16000)
    assert result.segments == ()


@pytest.mark.parametrize("vad_filter", [True, False])
def test_white_noise_yields_no_words(base, white_noise, vad_filter):
    """Without the guards, base decodes this noise into "1 cm x 2 cm x 2 cm ..." when the VAD is off."""
    transcriber = FasterWhisperTranscriber({"model": "base", "vad_filter": vad_filter}, "cpu")
    assert transcriber.transcribe(white_noise, 16000).segments == ()


def test_a_forced_language_is_used(base, sample_audio):
    transcriber = FasterWhisperTranscriber({"model": "base", "language": "en"}, "cpu")
    result = transcriber.transcribe(sample_audio[: 16 * 16000], 16000)
    assert result.language == "en" and result.language_probability == 1.0
    assert "hello" in text_of(result).lower()


def test_models_load_once_per_process(base):
    again = load_transcriber("local", TranscribeOptions(model="base"), "cpu")
    assert isinstance(again, FasterWhisperTranscriber)
    assert again.whisper_model is base.whisper_model
    assert again.compute_type == "int8"


def test_profiler_gets_the_substeps_without_any_text(tiny_en, sample_audio):
    profiler = RecordingProfiler()
    fresh = FasterWhisperTranscriber({"model": "tiny.en"}, "cpu")
    fresh.load(profiler)
    result = fresh.transcribe(sample_audio, 16000, profiler=profiler)
    names = [name for name, _ in profiler.steps]
    assert names[0] == "model_loading" and "inference" in names and "speech_detection" in names
    inference = dict(profiler.steps)["inference"]
    assert inference["audio_seconds"] == pytest.approx(len(sample_audio) / 16000, abs=0.01) and inference["chunks"] >= 1
    assert inference["segments"] == len(result.segments) and inference["words"] > 20
    spoken = {w.word.strip(" .,?!").lower() for s in result.segments for w in s.words}
    for _, metadata in profiler.steps:
        for value in metadata.values():
            assert not (isinstance(value, str) and value.lower() in spoken), "transcript text leaked into metadata"


def test_unsupported_compute_type_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="compute type 'float16' is not supported on cpu"):
        FasterWhisperTranscriber({"model": "tiny.en", "compute_type": "float16"}, "cpu").load()


def test_bad_audio_is_refused(tiny_en):
    with pytest.raises(ConfigurationError, match="mono"):
        tiny_en.transcribe(np.zeros((2, 16000), np.float32), 16000)
    with pytest.raises(InvalidAudioError):
        tiny_en.transcribe(np.full(16000, np.nan, np.float32), 16000)


def test_unknown_options_are_refused():
    with pytest.raises(ConfigurationError, match="unknown recognition option"):
        TranscribeOptions.from_dict({"modle": "base"})
    with pytest.raises(ConfigurationError):
        TranscribeOptions(batch_size=0)


def _words(text: str) -> list[tuple[Word, int]]:
    return [(Word(float(i), i + 0.5, " " + w), 0) for i, w in enumerate(text.split())]


def test_repetition_loops_are_cut_to_one_occurrence():
    looped = _words("so I said " + "thank you " * 9 + "and left")
    kept = " ".join(w.word.strip() for w, _ in _without_loops(looped, 5))
    assert kept == "so I said thank you and left"
    natural = _words("no no no I do not know")
    assert _without_loops(natural, 5) == natural


def test_compute_type_follows_the_device_and_can_be_overridden():
    from therapybridge.asr.local import default_compute_type

    assert default_compute_type("cpu") == "int8" and default_compute_type("cuda:0") == "float16"
    assert FasterWhisperTranscriber({"model": "tiny.en"}, "cuda:1").device_index == 1
    assert FasterWhisperTranscriber({"model": "tiny.en", "compute_type": "float32"}, "cpu").compute_type == "float32"
    assert FasterWhisperTranscriber({"model": "tiny.en"}, "mps").device_type == "cpu"  # CTranslate2 has no MPS


@pytest.mark.parametrize("option", ["initial_prompt", "hotwords"])
def test_prompt_options_reach_the_decoder(tiny_en, sample_audio, option):
    plain = text_of(tiny_en.transcribe(sample_audio, 16000))
    prompted = FasterWhisperTranscriber({"model": "tiny.en", option: "Diane, Sheila, a Yankee in Texas."}, "cpu")
    text = text_of(prompted.transcribe(sample_audio, 16000))
    assert text != plain, f"{option} made no difference to the decoding"
    assert "a Yankee in Texas." not in text  # the prompt conditions the decoder; it is not part of the transcript
    assert word_error_rate(reference_text(), text).wer <= 0.25


def test_the_decoder_hears_the_audio_scaled_by_decode_gain(tiny_en, sample_audio, monkeypatch):
    """Speech is found on the audio as given; only the decoder's copy is scaled, and the input is left alone."""
    heard: list[float] = []
    decode = tiny_en._decode

    def spy(packed, *args, **kwargs):
        heard.append(float(np.abs(packed).max()))
        return decode(packed, *args, **kwargs)

    monkeypatch.setattr(tiny_en, "_decode", spy)
    quiet = sample_audio * np.float32(0.25)
    before = quiet.copy()
    tiny_en.transcribe(quiet, 16000)
    tiny_en.transcribe(quiet, 16000, decode_gain=4.0)
    assert len(heard) == 2 and heard[1] == pytest.approx(4.0 * heard[0], rel=1e-6)
    assert np.array_equal(quiet, before)


def test_the_language_of_a_recording_is_found_once_for_all_its_parts(base, tiny_en, sample_audio):
    from therapybridge.asr.local import FasterWhisperTranscriber

    assert base.detect_language(sample_audio) == "en"  # heard: base is multilingual
    assert tiny_en.detect_language(sample_audio) == "en"  # an English-only model has nothing to find
    assert FasterWhisperTranscriber({"model": "base", "language": "de"}, "cpu").detect_language(sample_audio) == "de"
