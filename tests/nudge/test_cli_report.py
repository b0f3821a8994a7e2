"""`nudge report attribution|funnel` through the real CLI on a fresh database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.dom import minidom

from typer.testing import Result

from nudge.db import create_db_engine, make_session_factory, transaction
from nudge.models import Conversion, Lead, Message
from tests.nudge.conftest import Run

T0 = datetime(2026, 3, 2, 13, tzinfo=UTC)


def _tenant(run: Run, name: str) -> str:
    result = run("tenant", "create", name, "--json")
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["business_id"])


def _seed(tmp_path: Path, business_id: str) -> None:
    """Lead A: touch 1 (SMS) and touch 3 (email), then bought for 100 USD. Lead B: touch 1 only."""
    engine = create_db_engine(f"sqlite:///{tmp_path / 'nudge.db'}")
    try:
        with transaction(make_session_factory(engine)) as session:
            for lead_id in ("lead_a", "lead_b"):
                session.add(Lead(id=lead_id, business_id=business_id, name=lead_id, created_at=T0, updated_at=T0))
            session.flush()
            for lead_id, touch, channel, days in (
                ("lead_a", 1, "sms", 0),
                ("lead_a", 3, "email", 1),
                ("lead_b", 1, "sms", 0),
            ):
                at = T0 + timedelta(days=days)
                session.add(
                    Message(
                        business_id=business_id, lead_id=lead_id, direction="out", channel=channel, touch=touch,
                        author="agent", composer="template", status="delivered", created_at=at, sent_at=at,
                        info={"variant": f"en.t{touch}"},
                    )
                )  # fmt: skip
            session.add(
                Conversion(
                    business_id=business_id, lead_id="lead_a", kind="converted", value=100.0, currency="USD",
                    source="api", dedupe_key="k1", occurred_at=T0 + timedelta(days=2), created_at=T0,
                )
            )  # fmt: skip
    finally:
        engine.dispose()


def test_attribution_and_funnel_print_tables_json_and_charts(run: Run, tmp_path: Path) -> None:
    business_id = _tenant(run, "Acme")
    _seed(tmp_path, business_id)

    table = run("report", "attribution", "--model", "linear")
    assert table.exit_code == 0, table.output
    assert "Attribution (linear): 1 conversions, 100.00 USD" in table.stdout
    assert "credit by touch" in table.stdout and "credit by channel" in table.stdout

    as_json = run("report", "attribution", "--model", "linear", "--json", "--business", business_id)
    body = json.loads(as_json.stdout)
    assert {c["key"]: c["conversions"] for c in body["by"]["touch"]} == {"1": 0.5, "3": 0.5}
    assert {c["key"]: c["value"] for c in body["by"]["channel"]} == {"sms": {"USD": 50.0}, "email": {"USD": 50.0}}

    chart = tmp_path / "credit.svg"
    charted = run("report", "attribution", "-m", "first", "--chart", str(chart))
    assert charted.exit_code == 0, charted.output
    svg = minidom.parse(str(chart))
    labels = [t.firstChild.nodeValue for t in svg.getElementsByTagName("text") if t.firstChild is not None]
    assert "credit by touch" in labels and "credit by channel" in labels and "1.00" in labels

    funnel = run("report", "funnel", "--json")
    rows = {r["touch"]: r for r in json.loads(funnel.stdout)["touches"]}
    assert (rows[1]["sent"], rows[1]["delivered"], rows[3]["converted"]) == (2, 2, 1)
    funnel_chart = tmp_path / "funnel.svg"
    assert run("report", "funnel", "--chart", str(funnel_chart)).exit_code == 0
    assert len(minidom.parse(str(funnel_chart)).getElementsByTagName("rect")) == 1 + 2 * 6  # background + bars


def said(result: Result) -> str:
    """The output with the terminal's line wrapping undone."""
    return " ".join(result.output.split())


def test_cli_errors_are_readable(run: Run, tmp_path: Path) -> None:
    empty = run("report", "funnel")
    assert empty.exit_code == 2 and "no business yet" in said(empty)
    _tenant(run, "Acme")
    _tenant(run, "Other")
    unknown = run("report", "attribution", "--model", "u_shaped")
    assert unknown.exit_code == 2 and "first, last, linear, time_decay, position, markov" in said(unknown)
    assert "Traceback" not in said(unknown)
    several = run("report", "funnel")
    assert several.exit_code == 2 and "choose one with --business" in said(several)
    png = run("report", "funnel", "--business", "biz_nope", "--chart", str(tmp_path / "f.png"))
    assert png.exit_code == 2 and "SVG" in said(png)
    nobody = run("report", "funnel", "--business", "biz_nope")
    assert nobody.exit_code == 2 and "unknown business" in said(nobody)
    dimension = run("report", "attribution", "--by", "touch,colour")
    assert dimension.exit_code == 2 and "colour" in said(dimension)
    assert run("report", "attribution", "--help").exit_code == 0
