"""When a lead's next follow-up goes out: shared by `plan` (which schedules it) and `touch`
(which tells a touch held by quiet hours from one that is stale after downtime)."""

from __future__ import annotations

from datetime import datetime, timedelta

from agent import experiments
from agent.handoff import business_hours
from agent.policies import QuietHours, lead_timezone, next_after_daily_cap, next_send_time
from agent.sequence import Touch
from graph.context import RunContext

# A lead who clicks a link of ours is paying attention now: the next follow-up comes within this
# long of the click instead of waiting out its full delay (still one a day, never at night).
ENGAGED_NEXT = timedelta(days=1)


def send_window(ctx: RunContext) -> tuple[str, QuietHours]:
    """The lead's time zone and the business's quiet hours, which bound every follow-up."""
    lead, business = ctx.lead, ctx.business
    return lead_timezone(lead.timezone, lead.phone, business.timezone), business_hours(business)


def planned_time(
    ctx: RunContext,
    spec: Touch,
    anchor: datetime,
    last_follow_up: datetime | None,
    window: tuple[str, QuietHours] | None = None,
    engaged: datetime | None = None,
) -> datetime:
    """When `spec` goes out if nothing stops it: its delay for this lead (a timing experiment moves
    it) after the anchor, or sooner after a click (`engaged`), then, for a follow-up, the
    one-a-day cap and quiet hours."""
    due = anchor + experiments.delay_for(ctx.lead.id, spec)
    if not spec.follow_up:
        return due
    if engaged is not None:
        due = min(due, engaged + ENGAGED_NEXT)
    tz_name, quiet = window or send_window(ctx)
    return next_send_time(next_after_daily_cap(due, last_follow_up), tz_name, quiet)
