"""The live stream's decisions, as plain functions: when an open page must refresh."""

from __future__ import annotations

from datetime import UTC, datetime

from api.console.live import Snapshot, _parse_last_event_id, news

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _snap(handoffs: set[tuple[str, str, str | None]], recent: set[tuple[str, str]]) -> Snapshot:
    return Snapshot(frozenset(handoffs), AT, frozenset(recent))


def test_the_first_look_always_refreshes() -> None:
    assert news(None, _snap(set(), set()), set()) == []


def test_a_message_not_seen_yet_names_its_lead_once() -> None:
    seen: set[str] = set()
    before = _snap({("h1", "open", None)}, set())
    after = _snap({("h1", "open", None)}, {("m1", "lead_a"), ("m2", "lead_a"), ("m3", "lead_b")})
    assert news(before, after, seen) == ["lead_a", "lead_b"]
    seen.update({"m1", "m2", "m3"})
    assert news(after, after, seen) is None  # the look-back window shows them again: no news


def test_a_claim_a_reroute_or_a_resolution_changes_the_set() -> None:
    open_ = _snap({("h1", "open", None)}, set())
    claimed = _snap({("h1", "claimed", "rep_1")}, set())
    gone = _snap(set(), set())
    assert news(open_, claimed, set()) == []
    assert news(claimed, gone, set()) == []
    assert news(claimed, claimed, set()) is None


def test_last_event_id_is_read_only_when_it_is_a_time_with_its_zone() -> None:
    assert _parse_last_event_id(AT.isoformat()) == AT
    for bad in (None, "", "yesterday", "2026-03-01T12:00:00", "9" * 100):
        assert _parse_last_event_id(bad) is None


def test_every_stage_has_one_pipeline_column() -> None:
    from agent import stages
    from api.console.pipeline import COLUMNS, column_of

    placed = [stage for _, members in COLUMNS for stage in members]
    assert sorted(placed) == sorted(stages.ALL)
    assert column_of("won") == "Won" and column_of("opted_out") == "Lost" and column_of("conversing") == "Qualifying"


def test_csv_cells_that_a_spreadsheet_would_run_are_made_text() -> None:
    from api.console.export import csv_cell, to_csv

    for risky in ("=1+1", "+33 1 23", "-2", "@SUM(A1)", "\t=x", "\r=x"):
        assert csv_cell(risky) == "'" + risky
    for plain in ("Ana", "", "1+1", "a=b", None, 42):
        assert csv_cell(plain) == ("" if plain is None else str(plain))
    assert to_csv(["name"], [['=HYPERLINK("http://x")']]) == 'name\r\n"\'=HYPERLINK(""http://x"")"\r\n'
