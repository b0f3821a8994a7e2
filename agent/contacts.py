"""Normalising the ways a lead can be reached."""

from __future__ import annotations

import re

import phonenumbers

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ContactError(ValueError):
    pass


def normalise_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 ('+5511987654321'); accepts 'whatsapp:+55…', spaces, dashes, brackets."""
    text = raw.strip()
    if text.lower().startswith("whatsapp:"):
        text = text[len("whatsapp:") :]
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ContactError(f"'{raw}' is not a phone number ({exc})") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ContactError(f"'{raw}' is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    text = raw.strip()
    if not _EMAIL.match(text) or len(text) > 320:
        raise ContactError(f"'{raw}' is not an email address")
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def first_name(full_name: str) -> str:
    parts = full_name.strip().split()
    return parts[0].capitalize() if parts and parts[0].isalpha() else (parts[0] if parts else "")
