"""Identifiers: time-ordered, URL-safe, with a short prefix that says what they name."""

from __future__ import annotations

import base64
import os
import random
import time
from collections.abc import Callable

from nudge.clock import Clock

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# base64's RFC 4648 base32 digits, spelled in Crockford's alphabet.
_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())

IdSource = Callable[[str], str]  # prefix -> id, as `new_id`


def new_id(prefix: str) -> str:
    """`prefix_` + 10 chars of milliseconds + 16 random chars (ULID layout)."""
    return make_id(prefix, int(time.time() * 1000), int.from_bytes(os.urandom(10), "big"))


def make_id(prefix: str, millis: int, entropy: int) -> str:
    """An id in `new_id`'s layout from given parts: the simulator's ids come from its virtual
    clock and seeded RNG, so a seed repeats them."""
    value = (millis % (1 << 50)) << 80 | entropy % (1 << 80)  # 26 base32 digits
    # Every run makes several ids: base64's C encoder does the digits (130 bits, padded to 160).
    digits = base64.b32encode((value << 30).to_bytes(20, "big"))[:26].translate(_CROCKFORD)
    return f"{prefix}_{digits.decode()}"


def seeded_ids(seed: int, clock: Clock) -> IdSource:
    """Ids in `new_id`'s layout from `clock` and a seeded RNG, for a simulation that must repeat
    the ids it shows (a handoff's, in its decision)."""
    rng = random.Random(f"ids:{seed}")
    return lambda prefix: make_id(prefix, int(clock.now().timestamp() * 1000), rng.getrandbits(80))
