"""The voice-profile store and enrollment with the real CAM++ model."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from tests import datagen
from tests.roles import voices
from therapybridge.errors import ProfileError
from therapybridge.roles import ProfileStore, build_profile, default_profiles_dir, embed_sample


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_directory_is_user_data_dir_unless_overridden(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv("THERAPYBRIDGE_PROFILES_DIR", raising=False)
    assert default_profiles_dir() == Path(platformdirs.user_data_dir("therapybridge")) / "profiles"
    monkeypatch.setenv("THERAPYBRIDGE_PROFILES_DIR", str(tmp_path / "elsewhere"))
    assert ProfileStore().directory == tmp_path / "elsewhere"
    assert ProfileStore(tmp_path / "given").directory == tmp_path / "given"


def test_enroll_writes_private_embedding_only_file(tmp_path, therapist_clip):
    store = ProfileStore(tmp_path / "profiles")
    profile = store.enroll("Dr. Rivera", "Therapist", [therapist_clip], "cpu")
    assert _mode(store.directory) == 0o700
    files = list(store.directory.iterdir())
    assert [f.name for f in files] == ["dr-rivera.json"]
    assert _mode(files[0]) == 0o600
    data = json.loads(files[0].read_text())
    assert set(data) == {"format", "name", "role", "model", "created", "num_samples", "speech_seconds", "embedding"}
    assert (data["name"], data["role"], data["num_samples"]) == ("Dr. Rivera", "therapist", 1)
    assert len(data["embedding"]) == 192 and np.linalg.norm(data["embedding"]) == pytest.approx(1.0, abs=1e-4)
    # Embeddings only: the file is a few kilobytes whatever the length of the sample.
    assert files[0].stat().st_size < 8_000 < therapist_clip.stat().st_size
    assert store.get("dr.  RIVERA") == profile
    assert [p.name for p in store.list()] == ["Dr. Rivera"]


def test_several_samples_are_averaged(tmp_path):
    first = voices.espeak_clip(tmp_path / "first.wav", datagen.VOICES[0], voices.ENROLL_SCRIPT[:2])
    second = voices.espeak_clip(tmp_path / "second.wav", datagen.VOICES[0], voices.MORE_SCRIPT)
    one, two = embed_sample(first), embed_sample(second)
    profile = build_profile("Dr. Rivera", "therapist", [first, second])
    assert profile.num_samples == 2
    assert profile.speech_seconds == pytest.approx(one.speech_seconds + two.speech_seconds)
    mean = one.vector * one.speech_seconds + two.vector * two.speech_seconds
    assert np.allclose(profile.vector, mean / np.linalg.norm(mean), atol=1e-5)


def test_enroll_decodes_compressed_audio(tmp_path, therapist_clip, therapist_profile):
    """An m4a/mp3 sample (what a phone records) gives the same voice as its WAV."""
    mp3 = datagen.encode_like_session(therapist_clip, tmp_path / "therapist.mp3")
    profile = build_profile("Dr. Rivera", "therapist", [mp3])
    assert float(profile.vector @ therapist_profile.vector) > 0.95


def test_list_remove_and_errors(tmp_path, therapist_profile):
    store = ProfileStore(tmp_path / "p")
    assert store.list() == ()
    store.save(therapist_profile)
    with pytest.raises(ProfileError, match="--replace"):
        store.save(therapist_profile)
    store.save(therapist_profile, replace=True)
    with pytest.raises(ProfileError, match="too close"):
        store.save(type(therapist_profile)(**{**therapist_profile.__dict__, "name": "dr rivera!"}))
    assert store.remove("Dr. Rivera").name == "Dr. Rivera"
    assert store.list() == ()
    with pytest.raises(ProfileError, match="no voice profile named 'Dr. Rivera'"):
        store.remove("Dr. Rivera")
    with pytest.raises(ProfileError, match="unknown role"):
        store.enroll("X", "supervisor", [Path("x.wav")])
    with pytest.raises(ProfileError, match="needs a name"):
        store.enroll("  ", "therapist", [Path("x.wav")])
    with pytest.raises(ProfileError, match="at least one voice sample"):
        store.enroll("X", "therapist", [])


def test_damaged_profile_file_is_reported_by_name(tmp_path, therapist_profile):
    store = ProfileStore(tmp_path / "p")
    store.save(therapist_profile)
    (store.directory / "broken.json").write_text("{not json")
    with pytest.raises(ProfileError, match=r"broken\.json is damaged.*enroll again"):
        store.list()


def test_silence_or_too_little_speech_is_refused(tmp_path):
    silent = tmp_path / "silent.wav"
    datagen.write_wav(silent, np.zeros(16000 * 5, dtype=np.float32))
    short = voices.espeak_clip(tmp_path / "short.wav", datagen.VOICES[0], ["Hello."])
    for path in (silent, short):
        with pytest.raises(ProfileError, match="clear speech"):
            embed_sample(path)


def test_store_that_is_a_file_is_reported(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ProfileError, match="not a directory"):
        ProfileStore(target).list()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file regardless of permissions")
def test_unwritable_store_is_a_profile_error(tmp_path, therapist_profile):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ProfileError, match="cannot"):
        ProfileStore(locked).save(therapist_profile)
