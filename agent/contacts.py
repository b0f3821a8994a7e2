"""Normalising the ways a lead can be reached.

A phone number is kept twice on a lead: as given (the form's number in E.164, or the address
the provider gave, which is where replies go) and as a matching key (`phone_key`) that folds the
national quirks WhatsApp and Twilio show, so one person written two ways is one lead:

- Mexico: WhatsApp gives mobiles as +52 1 + ten digits (the old mobile "1"); the key drops the 1.
- Argentina: mobiles are +54 9 + ten digits in international form, +54 + ten digits elsewhere;
  the key drops the 9.
- Brazil: mobiles gained a ninth digit (9) in 2012-2016, but WhatsApp still gives accounts made
  before it without; the key adds the 9 to an eight-digit mobile (first digit 6-9; landlines
  start with 2-5 and keep eight digits).
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LETTER = re.compile(r"[^\W\d_]")
_BR_OLD_MOBILE = re.compile(r"^55([1-9]{2})([6-9]\d{7})$")
MAX_PHONE = 40  # the width of the phone columns


class ContactError(ValueError):
    pass


def _without_channel(raw: str) -> str:
    text = raw.strip()
    return text[len("whatsapp:") :].strip() if text.lower().startswith("whatsapp:") else text


def phone_key(phone: str) -> str:
    """The key leads are matched on: '+' and the digits, with the quirks above folded."""
    digits = "".join(c for c in phone if c.isascii() and c.isdigit())
    if len(digits) == 13 and digits.startswith(("521", "549")):
        digits = digits[:2] + digits[3:]
    elif match := _BR_OLD_MOBILE.match(digits):
        digits = f"55{match[1]}9{match[2]}"
    return f"+{digits}"


def normalise_phone(raw: str, default_region: str | None = None) -> str:
    """E.164 ('+5511987654321'); accepts 'whatsapp:+55…', spaces, dashes, brackets. The digits
    are kept as given (+52 1 55… stays +5215…): `phone_key` is what matches them."""
    text = _without_channel(raw)
    if _LETTER.search(text):
        # phonenumbers reads letters as keypad digits (ABC = 2): it would be another number.
        raise ContactError(f"'{raw}' has letters; a phone number is digits only")
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ContactError(f"'{raw}' is not a phone number ({exc})") from exc
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_possible_number(parsed):
        # +52 1 55…: impossible to phonenumbers, but the number it folds to is real.
        folded = phone_key(number)
        if folded == number or not phonenumbers.is_possible_number(phonenumbers.parse(folded, None)):
            raise ContactError(f"'{raw}' is not a possible phone number")
    return number


def provider_phone(raw: str) -> str:
    """A number a provider (Twilio) gave us, where replies go: E.164 when it reads as one,
    otherwise the text as given, since the provider can reach what it delivered from."""
    try:
        return normalise_phone(raw)
    except ContactError:
        text = _without_channel(raw)
        if not any(c.isdigit() for c in text) or len(text) >= MAX_PHONE:  # its key adds a '+'
            raise
        return text


def normalise_email(raw: str) -> str:
    text = raw.strip()
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in text):
        raise ContactError(f"{raw!r} has control characters; it is not an email address")
    if not _EMAIL.match(text) or len(text) > 320:
        raise ContactError(f"'{raw}' is not an email address")
    local, domain = text.rsplit("@", 1)
    if len(local) > 64:
        raise ContactError(f"'{raw}' is not an email address: the part before @ is over 64 characters")
    if len(domain) > 255:
        raise ContactError(f"'{raw}' is not an email address: the domain is over 255 characters")
    return f"{local}@{domain.lower()}"


def first_name(full_name: str) -> str:
    parts = full_name.strip().split()
    return parts[0].capitalize() if parts and parts[0].isalpha() else (parts[0] if parts else "")
