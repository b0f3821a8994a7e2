"""API keys: random, shown once, stored as a SHA-256 hash, found by their public prefix."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

_KIND_TAG = {"agency": "ag", "business": "bz", "rep": "rp"}


@dataclass(frozen=True)
class NewKey:
    plaintext: str  # give to the user once; never stored
    prefix: str
    key_hash: str


def hash_key(plaintext: str) -> str:
    # Keys carry 190+ bits of randomness, so a fast hash is safe (no need for a slow KDF).
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_key(kind: str) -> NewKey:
    tag = _KIND_TAG[kind]
    prefix = f"nk_{tag}_{secrets.token_hex(4)}"
    plaintext = f"{prefix}_{secrets.token_urlsafe(24)}"
    return NewKey(plaintext=plaintext, prefix=prefix, key_hash=hash_key(plaintext))


def prefix_of(plaintext: str) -> str | None:
    parts = plaintext.split("_")
    if len(parts) < 4 or parts[0] != "nk":
        return None
    return "_".join(parts[:3])


def matches(plaintext: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_key(plaintext), key_hash)
