"""The one way a stage's options object is built from a mapping (a TOML section, a JSON request, keyword args)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from .errors import ConfigurationError

T = TypeVar("T")


def options_from(cls: type[T], data: "Mapping[str, Any] | T | None", label: str, *, list_known: bool = False) -> T:
    """``cls`` from ``data``: defaults for ``None``, ``data`` itself when it already is one, and a
    ``ConfigurationError`` naming every unknown key (and, with ``list_known``, the known ones)."""
    if data is None:
        return cls()
    if isinstance(data, cls):
        return data
    assert isinstance(data, Mapping)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known)
    if unknown:
        message = f"unknown {label} option(s): {', '.join(unknown)}"
        raise ConfigurationError(message + (f"; known: {', '.join(sorted(known))}" if list_known else ""))
    return cls(**dict(data))
