"""Normalising and hashing contacts the way ad platforms match them (Meta's Customer File rules).

Email: trimmed, lower-cased. Phone: digits only with the country code, no '+' or leading zeros.
Both SHA-256, hex. The raw values are never stored with a job nor sent anywhere.
"""

from __future__ import annotations

import hashlib


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_phone(phone: str) -> str:
    return "".join(c for c in phone if c.isdigit()).lstrip("0")


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def contact_hashes(email: str | None, phone: str | None) -> dict[str, str]:
    """{"email": hash, "phone": hash} for what the lead has; empty when there is nothing to match on."""
    hashes: dict[str, str] = {}
    if email and normalise_email(email):
        hashes["email"] = sha256_hex(normalise_email(email))
    if phone and normalise_phone(phone):
        hashes["phone"] = sha256_hex(normalise_phone(phone))
    return hashes
