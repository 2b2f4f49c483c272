"""File names out of everything the program prints, logs and writes (``--redact-paths``).

A file is shown as ``file-<16 hex digits><ext>``: an HMAC-SHA256 of its name under a random key made once per user
and kept, mode 0600, in the user's configuration directory (``$THERAPYBRIDGE_CONFIG_DIR`` overrides it). The same
name always gives the same form on one machine, so runs can be matched up, but without the key nobody can recover a
name by hashing guesses of it.

``protect(path)`` registers an input: from then on ``scrub(text)`` replaces its path, file name and stem in any
text, and every log record created in this process is scrubbed the same way before a handler sees it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from pathlib import Path
from typing import Any

CONFIG_DIR_ENV = "THERAPYBRIDGE_CONFIG_DIR"
KEY_FILE = "redaction.key"
_KEY_BYTES = 32
_DIGEST_CHARS = 16
_MIN_STEM = 3  # shorter stems ("a", "01") are ordinary words and numbers; their full names are still replaced

_lock = threading.Lock()
_keys: dict[Path, bytes] = {}
_replacements: dict[str, tuple[re.Pattern[str], str]] = {}
_pattern: re.Pattern[str] | None = None
_factory_installed = False


def config_dir() -> Path:
    """``$THERAPYBRIDGE_CONFIG_DIR`` if set, else the platform's user configuration directory for therapybridge."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("therapybridge"))


def _key() -> bytes:
    directory = config_dir()
    with _lock:
        if directory not in _keys:
            _keys[directory] = _load_or_create_key(directory / KEY_FILE)
        return _keys[directory]


def _load_or_create_key(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(key) < _KEY_BYTES:
            raise ValueError(f"the redaction key in {path} is damaged; delete it to make a new one") from None
        return key
    key = secrets.token_bytes(_KEY_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    return key


def redact_name(value: str | os.PathLike[str]) -> str:
    """``file-<keyed hash of the file name><ext>`` for a path or file name (directories do not matter)."""
    text = os.fspath(value)
    name = os.path.basename(text.rstrip("/\\")) or text
    stem, ext = os.path.splitext(name)
    digest = hmac.new(_key(), name.encode("utf-8"), hashlib.sha256).hexdigest()[:_DIGEST_CHARS]
    return f"file-{digest}{ext}" if stem else f"file-{digest}"


def protect(path: str | os.PathLike[str]) -> str:
    """Register ``path`` so that ``scrub`` and every later log record hide it; its redacted form."""
    global _pattern
    text = os.fspath(path)
    redacted = redact_name(text)
    name = os.path.basename(text.rstrip("/\\")) or text
    stem = os.path.splitext(name)[0]
    forms = {text: redacted, os.path.abspath(text): redacted, name: redacted}
    if len(stem) >= _MIN_STEM:
        forms[stem] = os.path.splitext(redacted)[0]
    with _lock:
        for form, replacement in forms.items():
            if form and form not in _replacements:
                bounded = re.compile(rf"(?<![\w-]){re.escape(form)}(?![\w-])")
                _replacements[form] = (bounded, replacement)
        ordered = sorted(_replacements, key=len, reverse=True)
        _pattern = re.compile("|".join(_replacements[form][0].pattern for form in ordered))
    _install_record_factory()
    return redacted


def scrub(text: str) -> str:
    """``text`` with every registered path, file name and stem replaced by its redacted form."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(lambda match: _replacement(match.group(0)), text)


def _replacement(found: str) -> str:
    entry = _replacements.get(found)
    return entry[1] if entry is not None else found


def _install_record_factory() -> None:
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
        previous = logging.getLogRecordFactory()

    def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the logging module's to report
            return record
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(scrubbed_record)
