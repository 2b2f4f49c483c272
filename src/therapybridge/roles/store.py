"""The local voice-profile store: one private JSON file per enrolled speaker, embeddings only, never audio.

The store lives in ``platformdirs.user_data_dir("therapybridge")/profiles`` unless ``THERAPYBRIDGE_PROFILES_DIR``
or an explicit directory says otherwise. A directory the store creates is mode 0700 and every profile file 0600,
written atomically, because a voice embedding is biometric data.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProfileError

logger = logging.getLogger(__name__)

ENV_PROFILES_DIR = "THERAPYBRIDGE_PROFILES_DIR"
ROLES = ("therapist", "client", "other")
PROFILE_FORMAT = 1
_MAX_NAME = 80


@dataclass(frozen=True)
class Profile:
    """An enrolled speaker: a name, a role and the L2-normalised mean embedding of their voice."""

    name: str
    role: str
    embedding: tuple[float, ...]
    model: str
    created: str
    num_samples: int
    speech_seconds: float = 0.0

    @property
    def vector(self) -> np.ndarray:
        return np.asarray(self.embedding, dtype=np.float32)

    @property
    def display_label(self) -> str:
        """How a matched speaker is printed, e.g. ``Therapist (Dr. Rivera)``."""
        return f"{self.role.capitalize()} ({self.name})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "name": self.name,
            "role": self.role,
            "model": self.model,
            "created": self.created,
            "num_samples": self.num_samples,
            "speech_seconds": round(self.speech_seconds, 2),
            "embedding": [round(float(v), 7) for v in self.embedding],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Profile":
        embedding = tuple(float(v) for v in data["embedding"])
        if not embedding or not all(np.isfinite(embedding)):
            raise ValueError("the embedding is empty or not finite")
        return cls(
            name=str(data["name"]),
            role=str(data["role"]),
            embedding=embedding,
            model=str(data["model"]),
            created=str(data.get("created", "")),
            num_samples=int(data.get("num_samples", 1)),
            speech_seconds=float(data.get("speech_seconds", 0.0)),
        )


def default_profiles_dir() -> Path:
    """``$THERAPYBRIDGE_PROFILES_DIR`` if set, else ``<user data dir>/therapybridge/profiles``."""
    override = os.environ.get(ENV_PROFILES_DIR)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("therapybridge")) / "profiles"


def validate_name(name: str) -> str:
    """A profile name, stripped; one readable error when it is empty, too long or has control characters."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise ProfileError("a profile needs a name, e.g. 'Dr. Rivera'")
    if len(cleaned) > _MAX_NAME:
        raise ProfileError(f"profile names are limited to {_MAX_NAME} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in cleaned):
        raise ProfileError("a profile name cannot contain control characters")
    return cleaned


def validate_role(role: str) -> str:
    value = str(role).strip().lower()
    if value not in ROLES:
        raise ProfileError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    return value


def profile_filename(name: str) -> str:
    """A safe file name for a profile name (``Dr. Rivera`` -> ``dr-rivera.json``)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not slug:  # a name with no ASCII letters at all still needs a stable, distinct file
        slug = "profile-" + name.encode("utf-8").hex()[:32]
    return f"{slug}.json"


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class ProfileStore:
    """Enrolled voice profiles kept in one directory (see the module docstring for where and how)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory).expanduser() if directory is not None else default_profiles_dir()

    def __repr__(self) -> str:
        return f"ProfileStore({str(self.directory)!r})"

    # ---- reading

    def list(self) -> tuple[Profile, ...]:
        """Every profile in the store, sorted by name; an absent directory is an empty store."""
        if not self.directory.exists():
            return ()
        if not self.directory.is_dir():
            raise ProfileError(f"the profile store {self.directory} is not a directory; choose another with --profiles")
        try:
            paths = sorted(self.directory.glob("*.json"))
        except OSError as exc:
            raise ProfileError(f"cannot read the profile store {self.directory}: {exc.strerror}") from exc
        return tuple(sorted((self._read(p) for p in paths), key=lambda p: p.name.lower()))

    def get(self, name: str) -> Profile:
        """The profile called ``name`` (case and spacing ignored)."""
        wanted = validate_name(name).casefold()
        path = self.directory / profile_filename(validate_name(name))
        if path.exists():
            profile = self._read(path)
            if profile.name.casefold() == wanted:
                return profile
        for profile in self.list():
            if profile.name.casefold() == wanted:
                return profile
        raise ProfileError(f"no voice profile named {name!r} in {self.directory}; see 'therapybridge profiles list'")

    def __contains__(self, name: object) -> bool:
        try:
            self.get(str(name))
        except ProfileError:
            return False
        return True

    def _read(self, path: Path) -> Profile:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Profile.from_dict(data)
        except OSError as exc:
            raise ProfileError(f"cannot read voice profile {path}: {exc.strerror}") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise ProfileError(f"voice profile {path} is damaged ({exc}); remove it and enroll again") from exc

    # ---- writing

    def save(self, profile: Profile, *, replace: bool = False) -> Path:
        """Write ``profile`` (mode 0600, atomically); an existing profile of that name needs ``replace=True``."""
        name = validate_name(profile.name)
        validate_role(profile.role)
        path = self.directory / profile_filename(name)
        if path.exists():
            existing = self._read(path)
            if existing.name.casefold() != name.casefold():
                raise ProfileError(
                    f"the name {name!r} is too close to the enrolled {existing.name!r}; choose a more distinct name"
                )
            if not replace:
                raise ProfileError(f"a voice profile named {existing.name!r} exists; pass --replace to enroll again")
        self._ensure_directory()
        payload = json.dumps(profile.to_dict(), indent=1).encode("utf-8")
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".profile-", suffix=".tmp")
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise ProfileError(f"cannot write voice profile to {self.directory}: {exc.strerror}") from exc
        logger.info("saved voice profile %s", path.name)
        return path

    def remove(self, name: str) -> Profile:
        """Delete the profile called ``name`` and return what it held."""
        profile = self.get(name)
        path = self.directory / profile_filename(profile.name)
        try:
            path.unlink()
        except OSError as exc:
            raise ProfileError(f"cannot remove voice profile {path}: {exc.strerror}") from exc
        return profile

    def enroll(
        self,
        name: str,
        role: str,
        samples: Sequence[str | os.PathLike[str]],
        device: Any = "cpu",
        *,
        replace: bool = False,
    ) -> Profile:
        """Embed the speech in ``samples`` (any audio files of one speaker), average, and save the profile."""
        from .enroll import build_profile

        name = validate_name(name)
        role = validate_role(role)
        if not replace and name in self:
            raise ProfileError(f"a voice profile named {name!r} exists; pass --replace to enroll again")
        profile = build_profile(name, role, samples, device)
        self.save(profile, replace=replace)
        return profile

    def _ensure_directory(self) -> None:
        if self.directory.is_dir():
            mode = stat.S_IMODE(self.directory.stat().st_mode)
            if mode & 0o077:
                logger.warning("the profile store %s is readable by other users (mode %o)", self.directory, mode)
            return
        try:
            self.directory.mkdir(parents=True, mode=0o700)
            os.chmod(self.directory, 0o700)  # mkdir's mode is filtered by the umask
        except OSError as exc:
            raise ProfileError(f"cannot create the profile store {self.directory}: {exc.strerror}") from exc
