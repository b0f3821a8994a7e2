"""When a lead asks to be contacted later: "next month", "en dos semanas", "depois do carnaval".

`parse_deferral(text, now)` returns the local date the lead named (in `now`'s timezone, which is
the lead's: the caller passes `clock.now().astimezone(lead_tz)`), or None when no moment is named.
Plain functions over accent-folded text (`agent.qualifier._text.fold`), en/es/pt at once because
leads mix them. When a message names several moments ("not this week, maybe next month") the
latest wins: a deferral means "not before".

Conventions, chosen so that the resumed touch lands when the lead is back rather than early:
"next week" is its Monday; "next month" / a month name is that month's 1st; "after the holidays"
(said from October on) is 7 January; "after Easter" is Easter Monday, "after carnival" Ash
Wednesday; "in a few weeks" is three weeks; a weekday is its next occurrence after today.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from functools import cache

from agent.qualifier._text import fold

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan enero ene janeiro",
        "february feb febrero fevereiro fev",
        "march mar marzo marco",
        "april apr abril abr",
        "may mayo maio",
        "june jun junio junho",
        "july jul julio julho",
        "august aug agosto ago",
        "september sep sept septiembre setiembre setembro set",
        "october oct octubre outubro out",
        "november nov noviembre novembro",
        "december dec diciembre dic dezembro dez",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

# Month words that are also ordinary words ("may", "march", "set", "out"...): they only count
# after a preposition or next to a day number.
_AMBIGUOUS_MONTHS = frozenset({"may", "mar", "march", "marco", "set", "out", "ago", "jan", "dec", "abr", "ene"})

_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "monday lunes segunda",
        "tuesday martes terca",
        "wednesday miercoles quarta",
        "thursday jueves quinta",
        "friday viernes sexta",
        "saturday sabado",
        "sunday domingo",
    )
):
    for _name in _names.split():
        _WEEKDAYS[_name] = _number

_NUMBERS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "un": 1, "una": 1, "uno": 1, "um": 1, "uma": 1,
    "two": 2, "dos": 2, "dois": 2, "duas": 2, "couple": 2, "par": 2,
    "three": 3, "tres": 3, "few": 3, "alguns": 3, "algumas": 3, "unos cuantos": 3, "unas cuantas": 3,
    "four": 4, "cuatro": 4, "quatro": 4, "five": 5, "cinco": 5, "six": 6, "seis": 6,
}  # fmt: skip

_UNITS = r"(days?|dias?|weeks?|semanas?|fortnight|quincena|months?|mes|meses|years?|anos?)"
_QUANTITY = (
    r"(?:(?:a |un |una )?(?:couple|par)(?: of| de)?|a few|unos cuantos|unas cuantas|\d{1,2}|"
    + "|".join(sorted((k for k in _NUMBERS if " " not in k), key=len, reverse=True))
    + ")"
)


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    # Compiled on first use, not at import.
    month_names = "|".join(sorted(_MONTHS, key=len, reverse=True))
    weekday_names = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
    return {
        "holidays": re.compile(
            r"\b(after|past|over) (the )?(holidays|new year|christmas|xmas)\b"
            r"|\b(despues|pasad[oa]s?|luego) (de )?(las |los |el |la )?(fiestas|navidad|ano nuevo|reyes|fin de ano)\b"
            r"|\b(depois|passad[oa]s?) (d[oa]s? )?(festas|natal|ano novo|fim de ano|virada)\b"
        ),
        "easter": re.compile(
            r"\b(after|past) easter\b|\b(despues|pasada) (de )?(la )?(semana santa|pascua)\b"
            r"|\bdepois da (pascoa|semana santa)\b"
        ),
        "carnival": re.compile(r"\b(after|despues del?|depois do|passado o) carn[ai]val\b"),
        "next_year": re.compile(
            r"\bnext year\b|\b(in )?the new year\b|\b(en )?el ano nuevo\b|\bno ano novo\b|\b(el )?ano que viene\b"
            r"|\b(el )?(proximo|siguiente) ano\b|\bano que vem\b"
            r"|\bproximo ano\b|\bano q vem\b"
        ),
        "next_quarter": re.compile(r"\bnext quarter\b|\b(proximo|siguiente) trimestre\b|\btrimestre que (viene|vem)\b"),
        "next_month": re.compile(
            r"\bnext month\b|\b(el )?mes que viene\b|\b(el )?(proximo|siguiente) mes\b|\bmes q(ue)? vem\b"
            r"|\bproximo mes\b"
        ),
        "month_end": re.compile(
            r"\bend of (the |this )?month\b|\b(a |al )?(fin|fines|final|finales) de(l)? mes\b"
            r"|\b(no )?(fim|final) do mes\b"
        ),
        "next_week": re.compile(
            r"\bnext week\b|\b(la )?semana que viene\b|\b(la )?(proxima|siguiente) semana\b"
            r"|\bsemana q(ue)? vem\b|\bproxima semana\b"
        ),
        "in_units": re.compile(
            r"\b(?:in|en|em|within|dentro de|daqui(?: a)?|de aqui a|again in|after)\s+(?:(?:uns|umas|unos|unas)\s+)?"
            + r"("
            + _QUANTITY
            + r")?\s*"
            + _UNITS
            + r"\b"
        ),
        "day_after_tomorrow": re.compile(r"\bpasado manana\b|\bdepois de amanha\b|\bday after tomorrow\b"),
        "tomorrow": re.compile(r"\btomorrow\b|(?<!la )(?<!de )\bmanana\b|\bamanha\b"),
        "day_month": re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?(?: de| of)? (" + month_names + r")\b"),
        "month_day": re.compile(r"\b(" + month_names + r")\.? (\d{1,2})(?:st|nd|rd|th)?\b"),
        "numeric": re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b"),
        "month": re.compile(
            r"\b(in|en|em|for|para|until|till|hasta|ate|after|despues de|depois de|a partir de|around|by|no|el"
            r"|pra|por)( el| o| de)? (" + month_names + r")\b"
        ),
        "bare_month": re.compile(r"\b(" + month_names + r")\b"),
        "weekday": re.compile(
            r"\b(on |el |la |na |no |nesta |neste |essa |esta |next |this |(?:el |la |na |no )?(?:proxim[oa]"
            r"|que vem) )?"
            r"(" + weekday_names + r")(?:[- ]feira)?( que (vem|viene))?\b"
        ),
    }


def parse_deferral(text: str, now: datetime) -> date | None:
    """The local date named in `text` as the moment to come back, or None (see module docstring)."""
    folded = fold(text)
    today = now.date()
    found = [day for day in _candidates(folded, today) if day > today]
    return max(found) if found else None


def _candidates(folded: str, today: date) -> list[date]:
    p = _patterns()
    out: list[date] = []
    if p["holidays"].search(folded) and (today.month >= 10 or (today.month == 1 and today.day < 7)):
        out.append(date(today.year + (1 if today.month >= 10 else 0), 1, 7))
    if p["easter"].search(folded):
        out.append(_next_feast(today, offset=1))
    if p["carnival"].search(folded):
        out.append(_next_feast(today, offset=-46))
    if p["next_year"].search(folded):
        out.append(date(today.year + 1, 1, 1))
    if p["next_quarter"].search(folded):
        first = ((today.month - 1) // 3 + 1) * 3 + 1
        out.append(date(today.year + 1, 1, 1) if first > 12 else date(today.year, first, 1))
    if p["next_month"].search(folded):
        out.append(_first_of_next_month(today))
    if p["month_end"].search(folded):
        end = date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
        out.append(end if end > today else _add_months(today, 1).replace(day=28))
    if p["next_week"].search(folded):
        out.append(today + timedelta(days=7 - today.weekday()))
    for match in p["in_units"].finditer(folded):
        out.append(_in_units(today, match.group(1), match.group(2)))
    if p["day_after_tomorrow"].search(folded):
        out.append(today + timedelta(days=2))
    elif p["tomorrow"].search(folded):
        out.append(today + timedelta(days=1))
    for match in p["day_month"].finditer(folded):
        out.extend(_on(today, _MONTHS[match.group(2)], int(match.group(1))))
    for match in p["month_day"].finditer(folded):
        out.extend(_on(today, _MONTHS[match.group(1)], int(match.group(2))))
    for match in p["numeric"].finditer(folded):
        first, second = int(match.group(1)), int(match.group(2))
        # Day first (es/pt and most of the world); a first number above 12 cannot be a month.
        day, month = (first, second) if second <= 12 else (second, first)
        out.extend(_on(today, month, day))
    months = {_MONTHS[m.group(3)] for m in p["month"].finditer(folded)}
    months |= {_MONTHS[m.group(1)] for m in p["bare_month"].finditer(folded) if m.group(1) not in _AMBIGUOUS_MONTHS}
    out.extend(date(today.year + (1 if month <= today.month else 0), month, 1) for month in months)
    if not out:
        # A weekday only counts alone: in "next month, maybe a friday" the month is the moment.
        for match in p["weekday"].finditer(folded):
            name = match.group(2)
            if name in ("segunda", "quinta", "sexta", "quarta", "terca") and not (
                match.group(1) or match.group(3) or "feira" in match.group(0)
            ):
                continue  # "segunda vez", "quinta parte": Portuguese weekdays need "na"/"-feira"
            ahead = (_WEEKDAYS[name] - today.weekday()) % 7 or 7
            out.append(today + timedelta(days=ahead))
    return out


def _in_units(today: date, quantity: str | None, unit: str) -> date:
    count = _quantity(quantity)
    if unit.startswith(("day", "dia")):
        return today + timedelta(days=count)
    if unit.startswith(("week", "semana")):
        return today + timedelta(weeks=count)
    if unit in ("fortnight", "quincena"):
        return today + timedelta(weeks=2 * count)
    if unit.startswith(("year", "ano")):
        return _add_months(today, 12 * count)
    return _add_months(today, count)


def _quantity(quantity: str | None) -> int:
    if not quantity:
        return 1
    quantity = quantity.strip()
    if quantity.isdigit():
        return max(1, int(quantity))
    words = quantity.split()
    for word in (quantity, *reversed(words)):  # "a couple of": the last number word counts
        if word in _NUMBERS:
            return _NUMBERS[word]
    return 1


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _on(today: date, month: int, day: int) -> list[date]:
    """The next `day`/`month` from today (this year or the next); nothing for an impossible date."""
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return []
        if candidate >= today:
            return [candidate]
    return []


def easter(year: int) -> date:
    """Western Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month = (h + m - 7 * n + 114) // 31
    day = (h + m - 7 * n + 114) % 31 + 1
    return date(year, month, day)


def _next_feast(today: date, *, offset: int) -> date:
    """Easter + `offset` days, this year's if still ahead, else next year's."""
    this_year = easter(today.year) + timedelta(days=offset)
    return this_year if this_year > today else easter(today.year + 1) + timedelta(days=offset)
