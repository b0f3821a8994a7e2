"""Ids keep the ULID layout: 10 base32 digits of milliseconds, then 16 random ones, so they sort by
creation time."""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime

import pytest

from nudge.clock import VirtualClock
from nudge.ids import new_id, seeded_ids

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _digits(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        out.append(ALPHABET[rem])
    return "".join(reversed(out))


@pytest.mark.parametrize("seed", range(5))
def test_the_digits_are_the_time_then_the_random_bits(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    millis, rand = rng.randrange(1 << 43), rng.randrange(1 << 80)  # 2^43 ms: past the year 2200
    monkeypatch.setattr(time, "time", lambda: millis / 1000 + 0.0001)
    monkeypatch.setattr(os, "urandom", lambda n: rand.to_bytes(n, "big"))
    assert new_id("msg") == f"msg_{_digits(millis, 10)}{_digits(rand, 16)}"


def test_ids_made_later_sort_later() -> None:
    made = [new_id("lead") for _ in range(50)]
    assert all(len(i) == len("lead_") + 26 and set(i[5:]) <= set(ALPHABET) for i in made)
    assert [i[:15] for i in made] == sorted(i[:15] for i in made)  # the time part never goes back


def test_seeded_ids_repeat_for_a_seed_and_keep_the_layout() -> None:
    start = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)
    made = [[seeded_ids(seed, VirtualClock(start))("hof") for _ in range(3)] for seed in (1, 1, 2)]
    assert made[0] == made[1] != made[2]
    millis = int(start.timestamp() * 1000)
    assert all(i.startswith(f"hof_{_digits(millis, 10)}") and len(i) == len("hof_") + 26 for i in made[2])
    assert all(set(i[4:]) <= set(ALPHABET) for i in made[2])
