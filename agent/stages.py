"""Where a lead stands. Terminal stages get nothing automated again."""

from __future__ import annotations

from typing import Final

NEW: Final = "new"
CONTACTED: Final = "contacted"  # touch 1 sent
QUALIFYING: Final = "qualifying"  # the qualification question is out
CONVERSING: Final = "conversing"  # the lead is writing; the cadence waits
NURTURING: Final = "nurturing"  # follow-up touches 3+
ESCALATED: Final = "escalated"  # a human rep has (or is getting) the lead
CLOSED: Final = "closed"  # not interested / asked to close the file: only re-engagement remains
NURTURE_COMPLETE: Final = "nurture_complete"  # every touch done without a sale
BOOKED: Final = "booked"  # a meeting is booked: the cadence waits; a cancellation resumes nurturing
WON: Final = "won"
LOST: Final = "lost"
OPTED_OUT: Final = "opted_out"

TERMINAL: Final = frozenset({WON, LOST, OPTED_OUT, NURTURE_COMPLETE})
NO_AUTOMATION: Final = TERMINAL | {ESCALATED, BOOKED}
ALL: Final = (
    NEW,
    CONTACTED,
    QUALIFYING,
    CONVERSING,
    NURTURING,
    ESCALATED,
    CLOSED,
    NURTURE_COMPLETE,
    BOOKED,
    WON,
    LOST,
    OPTED_OUT,
)
