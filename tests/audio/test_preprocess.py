"""The preprocessing chain on real speech: removed pauses never shift a timestamp, and every edge case."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
import soxr
import torch

from therapybridge import errors
from therapybridge.audio import PreparedAudio, PreprocessOptions, TimeMap, decode_audio, ops, preprocess, save_prepared
from therapybridge.audio.prepare import STEP_NAMES
from therapybridge.perf.logger import PerformanceLogger
from tests.audio.media import encode, locate, sample_speech, speech_at
from tests.references import SAMPLE_RTTM
from therapybridge.evaluation import read_rttm

PAUSE_SECONDS = 60.0  # three of them: three minutes of silence inserted before later words
RATE = 16000


def _silent_gaps() -> list[float]:
    """Midpoints of the gaps in the sample where the reference has nobody speaking."""
    merged: list[list[float]] = []
    for start, end in sorted((t.start, t.end) for t in read_rttm(SAMPLE_RTTM)):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a[1] + b[0]) / 2 for a, b in zip(merged, merged[1:])]


@pytest.fixture(scope="module")
def paused_session(tmp_path_factory):
    """The real sample with 60 s of room noise inserted at each of its three silent gaps, as a 44.1 kHz stereo
    FLAC (so decoding, downmix and resampling all run). Returns (path, insertion times on the sample's clock)."""
    speech, rate = sample_speech()
    inserts = _silent_gaps()
    assert len(inserts) == 3 and inserts[0] > 5.0
    rng = np.random.default_rng(11)
    pieces, cursor = [], 0
    for at in inserts:
        pieces.append(speech[cursor : round(at * rate)])
        pieces.append(rng.normal(0, 10 ** (-62 / 20), round(PAUSE_SECONDS * rate)).astype(np.float32))
        cursor = round(at * rate)
    pieces.append(speech[cursor:])
    paused = soxr.resample(np.concatenate(pieces), rate, 44100).astype(np.float32)
    path = encode(tmp_path_factory.mktemp("paused") / "paused.flac", np.stack([paused, 0.7 * paused]), 44100)
    return path, inserts


def _speech_probes(speech: np.ndarray, inserts: list[float]) -> list[tuple[float, float]]:
    """Word-sized (0.4 s) stretches of real speech, none of them crossing an insertion point."""
    probes = []
    loud = 20 * np.log10(np.sqrt(np.mean(speech**2)))
    for start in np.arange(0.0, len(speech) / RATE - 0.4, 0.5):
        end = start + 0.4
        clip = speech[int(start * RATE) : int(end * RATE)]
        if any(start - 0.05 < at < end + 0.05 for at in inserts):
            continue
        if 20 * np.log10(np.sqrt(np.mean(clip**2)) + 1e-12) > loud - 10:
            probes.append((float(start), float(end)))
    return probes


def _found_on_original_clock(prepared: PreparedAudio, probes, speech, near: np.ndarray | None = None) -> np.ndarray:
    """Find each probe in the prepared audio (anywhere, or within 3 s of ``near``) and map it to the original clock."""
    audio = prepared.numpy()
    rate = prepared.sample_rate
    found = []
    for index, (start, end) in enumerate(probes):
        template = speech[int(start * RATE) : int(end * RATE)]
        window = (0, None) if near is None else (int((near[index] - 3.0) * rate), int((near[index] + 3.4) * rate))
        offset, score = locate(template, audio, *window)
        assert score > 0.95, f"probe at {start:.1f} s not found (correlation {score:.2f})"
        at = offset / rate
        found.append(prepared.time_map.map_interval(at, at + (end - start))[0])
    return np.array(found)


@pytest.fixture(scope="module")
def untrimmed(paused_session) -> PreparedAudio:
    """The paused session prepared with nothing removed: the reference clock."""
    keep_all = {"trim_silence": False, "shorten_pauses": False, "normalize": None}
    return preprocess(paused_session[0], keep_all, device="cpu")


@pytest.mark.parametrize("vad", ["energy", "silero"])
def test_removed_pauses_never_shift_a_timestamp(vad, paused_session, untrimmed):
    path, inserts = paused_session
    speech, _ = sample_speech()
    probes = _speech_probes(speech, inserts)
    assert len(probes) >= 30
    expected = np.array([start + PAUSE_SECONDS * sum(at < start for at in inserts) for start, _ in probes])

    shortened = preprocess(path, {"vad": vad}, device="cpu")

    assert shortened.original_duration == pytest.approx(30.0 + 3 * PAUSE_SECONDS, abs=0.01)
    assert shortened.time_map.removed_duration > 3 * PAUSE_SECONDS - 10.0
    assert shortened.duration < 40.0 and untrimmed.time_map.is_identity
    mapped = _found_on_original_clock(shortened, probes, speech)
    reference = _found_on_original_clock(untrimmed, probes, speech, near=expected)
    # The brief asks ±50 ms; cuts fall on whole samples, so in fact every probe lands within a millisecond.
    assert np.max(np.abs(reference - expected)) < 0.001
    assert np.max(np.abs(mapped - reference)) < 0.050
    assert np.mean(np.abs(mapped - reference) < 0.001) >= 0.95
    # No probe of speech was cut: each lies inside one kept span.
    for start in expected:
        assert any(a <= start and start + 0.4 <= b for a, b in shortened.time_map.kept_spans)


class RecordingProfiler:
    """A StageProfiler that remembers the steps it was asked to time, in order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    @contextmanager
    def subprocess(self, name, **metadata):
        self.names.append(name)
        yield None


def test_chain_on_a_session_like_mp3(tmp_path):
    speech = speech_at(44100)
    path = encode(tmp_path / "session.mp3", np.stack([speech, 0.6 * speech]), 44100)
    profiler = RecordingProfiler()
    prepared = preprocess(path, device="cpu", profiler=profiler)

    assert profiler.names == list(STEP_NAMES)
    assert [s.name for s in prepared.steps] == list(STEP_NAMES)
    assert prepared.sample_rate == 16000 and prepared.waveform.dim() == 1 and prepared.waveform.dtype == torch.float32
    assert prepared.original_duration == pytest.approx(30.0, abs=0.05)
    conversion = prepared.step("sample_rate_conversion")
    assert conversion.metadata["method"] == "soxr" and conversion.metadata["from_hz"] == 44100
    loudness = ops.integrated_loudness(prepared.waveform, 16000)
    normalization = prepared.step("normalization").metadata
    if normalization["peak_limited"]:
        assert ops.peak_db(prepared.waveform) == pytest.approx(-1.0, abs=0.01)
    else:
        assert loudness == pytest.approx(-23.0, abs=0.5)
    report = json.loads(json.dumps(prepared.to_dict()))
    assert report["steps"][0]["name"] == "load_audio" and "waveform" not in report
    with pytest.raises(FrozenInstanceError):
        prepared.sample_rate = 8000


def test_steps_reach_the_performance_logger_with_their_findings(tmp_path):
    path = encode(tmp_path / "s.wav", speech_at(16000, seconds=8.0), 16000)
    perf = PerformanceLogger(name="t", enable_gpu_monitoring=False, verbose=False)
    with perf.stage("Audio Preprocessing"):
        preprocess(path, device="cpu", profiler=perf)
    session = perf.end_pipeline()
    spans = {s.name: s for s in session.spans}
    assert set(STEP_NAMES) <= set(spans)
    assert spans["silence_detection"].metadata["speech_runs"] >= 1
    assert spans["load_audio"].metadata["sample_rate"] == 16000


def test_loudness_target_is_reached_when_peaks_allow(tmp_path):
    quiet = speech_at(16000) * 0.05
    path = encode(tmp_path / "quiet.wav", quiet, 16000, "pcm_f32le")
    prepared = preprocess(path, {"target_lufs": -30.0, "trim_silence": False, "shorten_pauses": False}, device="cpu")
    assert not prepared.step("normalization").metadata["peak_limited"]
    assert ops.integrated_loudness(prepared.waveform, 16000) == pytest.approx(-30.0, abs=0.5)
    peak = preprocess(path, {"normalize": "peak", "trim_silence": False}, device="cpu")
    assert ops.peak_db(peak.waveform) == pytest.approx(-1.0, abs=0.01)


def test_no_trimming_keeps_every_sample_on_the_original_clock(tmp_path):
    path = encode(tmp_path / "s.wav", speech_at(16000), 16000, "pcm_f32le")
    prepared = preprocess(path, {"trim_silence": False, "shorten_pauses": False, "normalize": None}, device="cpu")
    assert prepared.time_map.is_identity
    assert torch.equal(prepared.waveform, decode_audio(path).waveform[0])


def test_one_channel_can_be_chosen(tmp_path):
    speech = speech_at(16000, seconds=6.0)
    path = encode(tmp_path / "st.wav", np.stack([np.zeros_like(speech), speech]), 16000, "pcm_f32le")
    keep = {"trim_silence": False, "shorten_pauses": False, "normalize": None}
    right = preprocess(path, {**keep, "channel": 1}, device="cpu").waveform
    mixed = preprocess(path, keep, device="cpu").waveform
    torch.testing.assert_close(right, torch.from_numpy(speech))
    torch.testing.assert_close(mixed, torch.from_numpy(speech) / 2)
    assert preprocess(path, {**keep, "channel": 1}, device="cpu").step("downmix").metadata["mode"] == "channel 1"


def test_pure_silence_is_a_warning_not_an_error(tmp_path, caplog):
    path = encode(tmp_path / "silence.wav", np.zeros(16000 * 20, dtype=np.float32), 16000)
    prepared = preprocess(path, device="cpu")
    assert prepared.is_empty and prepared.num_samples == 0
    assert prepared.original_duration == pytest.approx(20.0)
    assert prepared.warnings and "no speech" in prepared.warnings[0]
    assert any(r.levelname == "WARNING" for r in caplog.records)


def test_one_sample_is_a_warning_not_an_error(tmp_path):
    path = encode(tmp_path / "one.wav", np.array([0.3], dtype=np.float32), 44100)
    prepared = preprocess(path, device="cpu")
    assert prepared.is_empty
    assert any("long" in w for w in prepared.warnings)


def test_bad_inputs_keep_their_typed_errors(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("not audio\n" * 100)
    with pytest.raises(errors.AudioDecodeError):
        preprocess(text, device="cpu")
    with pytest.raises(errors.InputNotFoundError):
        preprocess(tmp_path / "missing.m4a", device="cpu")


def test_options_accept_a_dict_and_reject_nonsense():
    options = PreprocessOptions.from_dict({"max_pause": 3.0, "normalize": "none", "vad": "silero"})
    assert options.max_pause == 3.0 and options.normalize is None and options.vad == "silero"
    assert PreprocessOptions.coerce(None) == PreprocessOptions()
    assert PreprocessOptions.coerce(options) is options
    assert PreprocessOptions.from_dict(options.to_dict()) == options
    for bad in ({"max_pause": 0}, {"vad": "webrtc"}, {"normalize": "rms"}, {"colour": "blue"}, {"target_peak_dbfs": 3}):
        with pytest.raises(errors.ConfigurationError):
            PreprocessOptions.from_dict(bad)
    with pytest.raises(errors.ConfigurationError):
        preprocess("x.wav", options=42)  # type: ignore[arg-type]


def test_save_prepared_writes_wav_and_time_map(paused_session, tmp_path):
    path, _ = paused_session
    prepared = preprocess(path, device="cpu")
    wav, time_map = save_prepared(prepared, tmp_path / "out" / "session.wav")
    assert time_map.name == "session.timemap.json"
    reread = decode_audio(wav)
    assert reread.sample_rate == 16000 and reread.channels == 1
    assert torch.equal(reread.waveform[0], prepared.waveform)
    assert TimeMap.from_dict(json.loads(time_map.read_text())) == prepared.time_map
    assert not list((tmp_path / "out").glob(".*tmp"))


def test_save_prepared_reports_an_unwritable_place(tmp_path):
    path = encode(tmp_path / "s.wav", speech_at(16000, seconds=3.0), 16000)
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(errors.OutputError):
        save_prepared(preprocess(path, device="cpu"), blocker / "x.wav")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_chain_matches_the_cpu_chain(paused_session):
    path, _ = paused_session
    gpu = preprocess(path, device="cuda")
    cpu = preprocess(path, {"resample_method": "julius"}, device="cpu")  # the same algorithms on the CPU
    assert gpu.waveform.device.type == "cuda"
    assert gpu.step("sample_rate_conversion").metadata["method"] == "julius"
    np.testing.assert_allclose(gpu.time_map.kept_spans, cpu.time_map.kept_spans, atol=0.021)
    gains = [p.step("normalization").metadata["gain_db"] for p in (gpu, cpu)]
    assert gains[0] == pytest.approx(gains[1], abs=0.05)
    keep_all = {"trim_silence": False, "shorten_pauses": False, "normalize": None, "resample_method": "julius"}
    whole_gpu = preprocess(path, keep_all, device="cuda").waveform.cpu()
    whole_cpu = preprocess(path, keep_all, device="cpu").waveform
    torch.testing.assert_close(whole_gpu, whole_cpu, atol=1e-4, rtol=0)


def test_streamed_cpu_path_agrees_with_the_whole_tensor_path(paused_session):
    """The CPU path resamples and measures while decoding; the path accelerators take (here run on the CPU with
    julius) works on whole tensors. Both must cut the same pauses and apply the same gain."""
    path, _ = paused_session
    streamed = preprocess(path, device="cpu")
    whole = preprocess(path, {"resample_method": "julius"}, device="cpu")
    assert streamed.step("sample_rate_conversion").metadata["streamed"] is True
    assert whole.step("sample_rate_conversion").metadata["streamed"] is False
    assert len(streamed.time_map.kept_spans) == len(whole.time_map.kept_spans)
    np.testing.assert_allclose(streamed.time_map.kept_spans, whole.time_map.kept_spans, atol=0.021)
    gains = [p.step("normalization").metadata["gain_db"] for p in (streamed, whole)]
    assert gains[0] == pytest.approx(gains[1], abs=0.05)
