"""Identifiers: time-ordered, URL-safe, with a short prefix that says what they name."""

from __future__ import annotations

import base64
import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# base64's RFC 4648 base32 digits, spelled in Crockford's alphabet.
_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def new_id(prefix: str) -> str:
    """`prefix_` + 10 chars of milliseconds + 16 random chars (ULID layout)."""
    millis = int(time.time() * 1000)
    value = (millis % (1 << 50)) << 80 | int.from_bytes(os.urandom(10), "big")  # 26 base32 digits
    # Every run makes several ids: base64's C encoder does the digits (130 bits, padded to 160).
    digits = base64.b32encode((value << 30).to_bytes(20, "big"))[:26].translate(_CROCKFORD)
    return f"{prefix}_{digits.decode()}"
