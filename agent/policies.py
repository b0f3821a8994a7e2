"""Rules checked at send time. Each answers with a reason a person can read.

Pure functions over plain values, so the graph, the simulator's audit and the tests share them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezones

from agent.composer.similarity import is_near_duplicate, normalise
from agent.contacts import phone_key

DAILY_GAP = timedelta(hours=24)
WHATSAPP_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class QuietHours:
    start: time  # quiet from here (e.g. 20:00)…
    end: time  # …until here (e.g. 09:00)
    weekends: bool  # False: Saturday and Sunday are quiet all day

    @classmethod
    def parse(cls, start: str, end: str, weekends: bool) -> QuietHours:
        return cls(time.fromisoformat(start), time.fromisoformat(end), weekends)


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
            continue
    return ZoneInfo("UTC")


def is_valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        return False
    return True


# For numbers phonenumbers can only place in a country spanning several zones, the zone most of
# its people live in; phonenumbers lists candidates alphabetically (Spain → Atlantic/Canary).
_MAIN_ZONE = {
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CL": "America/Santiago",
    "EC": "America/Guayaquil",
    "ES": "Europe/Madrid",
    "MX": "America/Mexico_City",
    "PT": "Europe/Lisbon",
    "RU": "Europe/Moscow",
    "US": "America/New_York",
}


def timezone_from_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    try:
        # The folded number: phonenumbers places no zone for WhatsApp's +52 1… or a Brazilian
        # mobile without its ninth digit.
        parsed = phonenumbers.parse(phone_key(phone), None)
    except phonenumbers.NumberParseException:
        return None
    zones = [z for z in phone_timezones.time_zones_for_number(parsed) if z != "Etc/Unknown"]
    if len(zones) > 1:
        main = _MAIN_ZONE.get(phonenumbers.region_code_for_number(parsed) or "")
        if main in zones:
            return main
    return zones[0] if zones else None


def lead_timezone(lead_timezone_name: str | None, phone: str | None, business_timezone: str) -> str:
    """The lead's own zone, else the phone's country zone, else the business's."""
    if lead_timezone_name and is_valid_timezone(lead_timezone_name):
        return lead_timezone_name
    return timezone_from_phone(phone) or business_timezone


def _is_quiet(local: datetime, quiet: QuietHours) -> bool:
    if not quiet.weekends and local.weekday() >= 5:
        return True
    clock = local.timetz().replace(tzinfo=None)
    if quiet.start == quiet.end:
        return False
    if quiet.start > quiet.end:  # crosses midnight, e.g. 20:00 → 09:00
        return clock >= quiet.start or clock < quiet.end
    return quiet.start <= clock < quiet.end


def next_send_time(moment: datetime, tz_name: str, quiet: QuietHours) -> datetime:
    """`moment` itself when it is outside quiet hours, else the start of the next allowed time."""
    tz = zone(tz_name)
    local = moment.astimezone(tz)
    if not _is_quiet(local, quiet):
        return moment
    candidate = local
    for _ in range(9):  # at most a weekend plus a night
        opening = datetime.combine(candidate.date(), quiet.end, tzinfo=tz)
        if opening <= candidate:
            opening = datetime.combine(candidate.date() + timedelta(days=1), quiet.end, tzinfo=tz)
        # A zone change or DST gap can land inside quiet time; re-check from there.
        candidate = opening
        if not _is_quiet(candidate, quiet):
            return candidate.astimezone(moment.tzinfo)
    return candidate.astimezone(moment.tzinfo)


def next_after_daily_cap(moment: datetime, last_follow_up_at: datetime | None) -> datetime:
    if last_follow_up_at is None:
        return moment
    return max(moment, last_follow_up_at + DAILY_GAP)


def whatsapp_window_open(now: datetime, last_whatsapp_inbound: datetime | None) -> bool:
    return last_whatsapp_inbound is not None and now - last_whatsapp_inbound < WHATSAPP_WINDOW


def repeats_earlier(body: str, earlier: Iterable[str]) -> str | None:
    """Why `body` may not be sent to a lead who already received `earlier`, or None."""
    target = normalise(body)
    for previous in earlier:
        if normalise(previous) == target:
            return "same wording was already sent to this lead"
        if is_near_duplicate(body, previous):
            return "nearly the same wording was already sent to this lead"
    return None
