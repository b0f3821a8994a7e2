"""Deferral dates: relative and absolute, en/es/pt, in the lead's timezone, from an injected moment."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from agent.acts.deferral import easter, parse_deferral

# Wednesday 18 November 2026, 10:00 in São Paulo.
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not now, maybe next month", date(2026, 12, 1)),
        ("ahora no, el mes que viene", date(2026, 12, 1)),
        ("mês que vem a gente vê", date(2026, 12, 1)),
        ("en dos semanas", date(2026, 12, 2)),
        ("daqui a 15 dias", date(2026, 12, 3)),
        ("in a couple of months", date(2027, 1, 18)),
        ("after the holidays", date(2027, 1, 7)),
        ("después de las fiestas", date(2027, 1, 7)),
        ("depois das festas", date(2027, 1, 7)),
        ("next week", date(2026, 11, 23)),
        ("la próxima semana", date(2026, 11, 23)),
        ("text me monday", date(2026, 11, 23)),
        ("el viernes", date(2026, 11, 20)),
        ("na sexta-feira", date(2026, 11, 20)),
        ("quarta que vem", date(2026, 11, 25)),
        ("try me in march", date(2027, 3, 1)),
        ("em março", date(2027, 3, 1)),
        ("after dec 10th", date(2026, 12, 10)),
        ("el 3 de diciembre", date(2026, 12, 3)),
        ("dia 15/01", date(2027, 1, 15)),
        ("next year", date(2027, 1, 1)),
        ("el año que viene", date(2027, 1, 1)),
        ("next quarter", date(2027, 1, 1)),
        ("end of the month", date(2026, 11, 30)),
        ("depois do carnaval", date(2027, 2, 10)),
        ("después de semana santa", date(2027, 3, 29)),
        ("mañana", date(2026, 11, 19)),
        ("depois de amanhã", date(2026, 11, 20)),
        # The latest moment wins: "not before".
        ("not this week, maybe next month or in january", date(2027, 1, 1)),
    ],
)
def test_named_moments(text: str, expected: date) -> None:
    assert parse_deferral(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "later, not now",
        "what's the price?",
        "it was a segunda vez",  # "segunda" without "na"/"-feira" is not Monday
        "podemos hablar por la mañana",  # morning, not tomorrow
        "may be interesting",  # "may" the verb, not the month
        "31/02",  # no such date
    ],
)
def test_no_moment(text: str) -> None:
    assert parse_deferral(text, NOW) is None


def test_the_leads_timezone_decides_what_tomorrow_is() -> None:
    # 01:00 UTC on the 19th is still the 18th in São Paulo: "tomorrow" is the 19th there.
    late = datetime(2026, 11, 19, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert parse_deferral("tomorrow", late.astimezone(ZoneInfo("America/Sao_Paulo"))) == date(2026, 11, 19)
    assert parse_deferral("tomorrow", late) == date(2026, 11, 20)


def test_holidays_said_in_spring_name_no_date() -> None:
    assert parse_deferral("after the holidays", datetime(2026, 4, 2, tzinfo=ZoneInfo("UTC"))) is None


def test_easter() -> None:
    assert easter(2026) == date(2026, 4, 5)
    assert easter(2027) == date(2027, 3, 28)
