"""What the lead is doing with a message (`agent.acts`), read in the lead's own timezone, and the
pause a deferral asks for.

The act reader is built on first use and shared by the process (training takes about half a
second on the packaged train split; the embedding model is knowledge's offline one); never at
import. A `RunContext` may carry its own (`ctx.acts`), e.g. a simulation.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta

from agent.acts import ActClassifier, Reading, build_classifier
from agent.acts.answers import fact_by_meaning
from agent.assets import matching_fact
from agent.policies import next_send_time, zone
from graph.cadence import send_window
from graph.context import RunContext
from knowledge.embeddings import load_encoder

#: "Not now, maybe later" names no moment: the cadence pauses this long.
DEFAULT_DEFERRAL = timedelta(days=30)
#: A deferral resumes in the lead's morning of the day they named.
RESUME_AT = time(9, 0)


@functools.cache
def shared_reader() -> ActClassifier:
    return build_classifier(load_encoder())


def read_act(ctx: RunContext, text: str) -> Reading:
    reader = ctx.acts if ctx.acts is not None else shared_reader()
    tz = zone(send_window(ctx)[0])
    return reader.read(text, ctx.clock.now().astimezone(tz))


def pause_until(ctx: RunContext, reading: Reading) -> datetime:
    """When the cadence may speak again after a deferral: the named day's morning in the lead's
    timezone (quiet hours respected), or `DEFAULT_DEFERRAL` from now when no day was named."""
    tz_name, quiet = send_window(ctx)
    tz = zone(tz_name)
    now = ctx.clock.now()
    day: date = reading.defer_until or (now.astimezone(tz) + DEFAULT_DEFERRAL).date()
    moment = datetime.combine(day, RESUME_AT, tzinfo=tz)
    return next_send_time(max(moment, now), tz_name, quiet)


def answer_fact(ctx: RunContext, text: str, reading: Reading, language: str) -> str:
    """The profile fact answering the lead's last message: by its keywords, else by meaning."""
    profile = ctx.business.profile or {}
    default = ctx.business.default_locale
    fact = matching_fact(profile, text, language, default)
    if fact or reading.act != "question":
        return fact
    return fact_by_meaning(profile, text, language, default, load_encoder(), topic=reading.topic)
