"""Which arm of a touch's experiment a lead is in: drawn at random, the same every time.

The draw is a hash of (lead id, touch number, experiment name), so it needs no stored state, is
stable across runs and processes, and is independent between touches and experiments.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from agent.sequence import ChannelName, Touch

HOLDOUT = "holdout"
HOLDOUT_DETAIL = "holdout: experiment "  # the decision row the reports read the control group from
ARM_KIND = "experiment_arm"  # the decision row of a lead assigned to a variant (detail: its label)


@dataclass(frozen=True)
class Arm:
    experiment: str
    name: str  # a variant's name, or "holdout"
    channels: tuple[ChannelName, ...] | None = None
    delay: timedelta | None = None
    phrasings: tuple[str, ...] = ()  # wording this arm reads first (phrasebook ids)

    @property
    def holdout(self) -> bool:
        return self.name == HOLDOUT

    @property
    def label(self) -> str:
        return f"{self.experiment}:{self.name}"


def _uniform(lead_id: str, touch: Touch, salt: str) -> float:
    digest = hashlib.sha256(f"{lead_id}\x1f{touch.number}\x1f{touch.experiment_name}\x1f{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(lead_id: str, touch: Touch) -> Arm | None:
    """None when the touch runs no experiment."""
    if not touch.has_experiment:
        return None
    if touch.holdout and _uniform(lead_id, touch, "holdout") < touch.holdout:
        return Arm(touch.experiment_name, HOLDOUT)
    if not touch.variants:
        return Arm(touch.experiment_name, "control")
    # A separate draw, so changing the holdout share does not reshuffle the variants.
    point = _uniform(lead_id, touch, "variant") * sum(v.weight for v in touch.variants)
    for variant in touch.variants:
        point -= variant.weight
        if point < 0:
            break
    channels = tuple(variant.channels) if variant.channels else None
    return Arm(touch.experiment_name, variant.name, channels, variant.delay, tuple(variant.phrasings or ()))


def channel_order(arm: Arm | None, touch: Touch) -> list[ChannelName]:
    return list(arm.channels) if arm is not None and arm.channels else list(touch.channels)


def delay_for(lead_id: str, touch: Touch) -> timedelta:
    arm = assign(lead_id, touch)
    return arm.delay if arm is not None and arm.delay is not None else touch.delay
