"""The default engine on real and synthetic speech, scored with pyannote.metrics (no collar, overlap scored)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.datagen import espeak_dialogue
from therapybridge.diarization import DiarizationOptions, DiarizationResult, embed_speech, load_diarizer
from therapybridge.errors import ConfigurationError, InvalidAudioError

from .conftest import der


def test_sample_without_hint_finds_two_speakers(sample, sample_result):
    audio, rate, reference = sample
    assert sample_result.num_speakers == 2
    # DER measured 0.055 here; unhinted over the sample and real_voice_session(3 min, seeds 0-3): 0.055, 0.085,
    # 0.085, 0.122, 0.089 (sd 0.024). Threshold = 0.055 + 2 sd = 0.103 -> 0.11 (was 0.12).
    assert der(reference, sample_result, len(audio) / rate) <= 0.11


def test_sample_with_two_speakers_forced(diarizer, sample):
    audio, rate, reference = sample
    result = diarizer.diarize(audio, rate, DiarizationOptions(num_speakers=2))
    assert result.num_speakers == 2
    # DER measured 0.055 (the hint changes nothing on these files: the same five values as the unhinted test,
    # sd 0.024). Threshold = 0.055 + 2 sd = 0.103 -> 0.11 (was 0.08, 1 sd above the measured value).
    assert der(reference, result, len(audio) / rate) <= 0.11


@pytest.mark.slow
def test_espeak_dialogues_count_and_der(espeak_case):
    dialogue, result = espeak_case
    assert result.num_speakers == dialogue.num_speakers
    # DER measured 0.036 (2 voices) and 0.042 (3 voices) at seed 0; over seeds 0-3 of espeak_dialogue(3 min):
    # 2 voices 0.036, 0.041, 0.085, 0.012; 3 voices 0.042, 0.039, 0.052, 0.026 (sd 0.021). Threshold = the worse
    # seed-0 value + 2 sd = 0.084 -> 0.09 (was 0.05, a hair above the two seed-0 values; seed 2 alone is 0.085).
    assert der(dialogue.turns, result, dialogue.duration) <= 0.09


def test_forced_count_is_honoured(diarizer, sample):
    audio, rate, _ = sample
    assert diarizer.diarize(audio, rate, DiarizationOptions(num_speakers=3)).num_speakers == 3
    assert diarizer.diarize(audio, rate, {"num_speakers": 1}).num_speakers == 1


@pytest.mark.slow
def test_bounds_are_honoured(diarizer):
    dialogue = espeak_dialogue(n_speakers=3, minutes=3.0, seed=0)
    audio = dialogue.load()[: 60 * dialogue.sample_rate]
    capped = diarizer.diarize(audio, dialogue.sample_rate, DiarizationOptions(max_speakers=1))
    assert capped.num_speakers == 1
    raised = diarizer.diarize(audio, dialogue.sample_rate, DiarizationOptions(min_speakers=4))
    assert raised.num_speakers == 4


def test_result_shape_and_privacy(sample_result):
    assert isinstance(sample_result, DiarizationResult)
    assert sample_result.speakers == ("SPEAKER_00", "SPEAKER_01")
    first_seen = list(dict.fromkeys(t.speaker for t in sample_result.turns))
    assert first_seen == list(sample_result.speakers)
    assert all(t.end > t.start >= 0 for t in sample_result.turns)
    assert list(sample_result.turns) == sorted(sample_result.turns, key=lambda t: (t.start, t.end))
    assert set(sample_result.centroids) == set(sample_result.speakers)
    for vector in sample_result.centroids.values():
        assert vector.shape == (192,)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
    payload = sample_result.to_dict()
    assert "centroids" not in payload and "192" not in str(payload)


def test_embed_speech_matches_the_right_centroid(diarizer, sample, sample_result):
    audio, rate, reference = sample
    by_speaker = {}
    for turn in sample_result.turns:
        by_speaker.setdefault(turn.speaker, []).append(turn)
    # The longest turn of each found speaker, embedded on its own, is closest to that speaker's centroid.
    for speaker, turns in by_speaker.items():
        longest = max(turns, key=lambda t: t.end - t.start)
        clip = audio[int(longest.start * rate) : int(longest.end * rate)]
        vector = embed_speech(clip, rate, "cpu")
        scores = {s: float(vector @ c) for s, c in sample_result.centroids.items()}
        assert max(scores, key=scores.get) == speaker


def test_embed_speech_rejects_too_short_clips():
    with pytest.raises(InvalidAudioError):
        embed_speech(np.zeros(1000, dtype=np.float32), 16000)


def test_silence_and_tiny_input_give_no_speakers(diarizer):
    assert diarizer.diarize(np.zeros(1600, dtype=np.float32), 16000).num_speakers == 0
    quiet = diarizer.diarize(np.random.default_rng(0).normal(0, 1e-4, 16000 * 12).astype(np.float32), 16000)
    assert quiet.num_speakers <= 1


def test_resamples_other_rates(diarizer, sample):
    import soxr

    audio, rate, reference = sample
    audio_44k = soxr.resample(audio, rate, 44100).astype(np.float32)
    result = diarizer.diarize(audio_44k, 44100, DiarizationOptions(num_speakers=2))
    assert der(reference, result, len(audio) / rate) <= 0.10


def test_options_are_validated():
    with pytest.raises(ConfigurationError):
        DiarizationOptions(num_speakers=2, max_speakers=3)
    with pytest.raises(ConfigurationError):
        DiarizationOptions(min_speakers=3, max_speakers=2)
    with pytest.raises(ConfigurationError):
        load_diarizer("nonexistent")


def test_factory_caches_one_engine_per_device():
    assert load_diarizer("default", "cpu") is load_diarizer("default", "cpu")


def test_profiler_receives_sub_steps(diarizer, sample):
    import contextlib

    seen = []

    class Recorder:
        @contextlib.contextmanager
        def subprocess(self, name, **metadata):
            seen.append((name, metadata))
            yield

    audio, rate, _ = sample
    diarizer.diarize(audio, rate, profiler=Recorder())
    names = [n for n, _ in seen]
    assert names == ["segmentation", "embeddings", "clustering", "reconstruction"]
    assert all(isinstance(v, (int, float, str)) for _, meta in seen for v in meta.values())


def test_only_the_middle_of_a_long_unit_is_embedded():
    from therapybridge.diarization.engine import _middle

    frames = np.arange(1000, dtype=np.float32)[:, None].repeat(80, axis=1)  # 10 s of fbank frames
    kept = _middle(frames, 3.0)
    assert kept.shape == (300, 80) and kept[0, 0] == 350 and kept[-1, 0] == 649
    assert _middle(frames[:200], 3.0).shape == (200, 80)  # shorter units are embedded whole
    assert _middle(frames, None) is frames


def test_a_turn_is_carried_on_while_its_sentence_fades_and_no_one_else_starts():
    from therapybridge.diarization.engine import EngineSettings, _with_tails

    step, frames = 0.02, 40
    settings = EngineSettings(max_tail_seconds=0.1)  # five frames
    db = np.full(frames, -70.0)
    db[0:15] = -20.0  # speech until frame 15, then the noise floor
    tracks = np.zeros((frames, 2), dtype=bool)
    tracks[0:10, 0] = True
    assert np.flatnonzero(_with_tails(tracks, db, step, settings)[:, 0]).max() == 14  # the loud frames, up to the limit
    db[0:30] = -20.0
    assert np.flatnonzero(_with_tails(tracks, db, step, settings)[:, 0]).max() == 14  # never past the limit
    tracks[12:20, 1] = True  # the other speaker starts
    widened = _with_tails(tracks, db, step, settings)
    assert np.flatnonzero(widened[:, 0]).max() == 11  # stops where the other speaker starts
    assert np.flatnonzero(widened[:, 1]).tolist() == list(range(12, 25))  # whose own sentence fades on
    assert (_with_tails(tracks, db, step, EngineSettings(max_tail_seconds=0.0)) == tracks).all()
