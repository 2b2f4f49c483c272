"""Bearer tokens: ``tb_<id>_<secret>``, of which only a random salt and SHA-256(salt + secret) are stored.

The secret has 256 bits of entropy, so one fast salted hash per request is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from .store import JobStore

PREFIX = "tb_"
_TOKEN = re.compile(r"^tb_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (never its secret)."""

    id: str
    name: str
    created: float
    revoked: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "created": self.created, "revoked": self.revoked}


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("ascii")).digest()


def create_token(store: JobStore, name: str) -> str:
    """A new token called ``name``; the only time its full text exists."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ConfigurationError("a token needs a name of 1 to 100 characters")
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    store.add_token(token_id, name, salt, _digest(salt, secret))
    return f"{PREFIX}{token_id}_{secret}"


def verify_token(store: JobStore, token: str) -> str | None:
    """The token's id when ``token`` is valid and not revoked, else None."""
    match = _TOKEN.match(token.strip())
    if match is None:
        return None
    token_id, secret = match.groups()
    row = store.token(token_id)
    if row is None or row["revoked"] is not None:
        return None
    return token_id if hmac.compare_digest(row["digest"], _digest(row["salt"], secret)) else None


def list_tokens(store: JobStore) -> list[TokenInfo]:
    return [TokenInfo(r["id"], r["name"], r["created"], r["revoked"]) for r in store.tokens()]


def revoke_token(store: JobStore, name_or_id: str) -> int:
    """Revoke every live token with that name (or that id); how many were revoked."""
    return store.revoke_token(name_or_id)
