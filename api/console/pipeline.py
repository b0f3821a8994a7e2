"""The pipeline: a business's leads by stage as columns, with counts and sale value per column."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from agent import stages
from nudge.models import Conversion, Lead

# Columns in the order a lead moves; every stage lands in exactly one (a test holds that).
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("New", (stages.NEW, stages.CONTACTED)),
    ("Qualifying", (stages.QUALIFYING, stages.CONVERSING)),
    ("Nurturing", (stages.NURTURING,)),
    ("Escalated", (stages.ESCALATED,)),
    ("Booked", (stages.BOOKED,)),
    ("Won", (stages.WON,)),
    ("Lost", (stages.LOST, stages.CLOSED, stages.NURTURE_COMPLETE, stages.OPTED_OUT)),
)
CARDS_PER_COLUMN = 25


def column_of(stage: str) -> str:
    return next((title for title, members in COLUMNS if stage in members), "New")


@dataclass
class Column:
    title: str
    count: int = 0
    value: dict[str, float] = field(default_factory=dict)  # currency → sum of sales
    leads: list[Lead] = field(default_factory=list)


def pipeline(session: Session) -> list[Column]:
    """Counts and values over every lead; the newest leads of each column as its cards."""
    columns = {title: Column(title) for title, _ in COLUMNS}
    for stage, count in session.execute(sa.select(Lead.stage, sa.func.count()).group_by(Lead.stage)):
        columns[column_of(stage)].count += count
    values: dict[str, dict[str, float]] = defaultdict(dict)
    sales = (
        sa.select(Lead.stage, Conversion.currency, sa.func.sum(Conversion.value))
        .join(Lead, Lead.id == Conversion.lead_id)
        .where(Conversion.value.is_not(None))
        .group_by(Lead.stage, Conversion.currency)
    )
    for stage, currency, total in session.execute(sales):
        bucket = values[column_of(stage)]
        bucket[currency or ""] = bucket.get(currency or "", 0.0) + float(total or 0)
    for title, members in COLUMNS:
        columns[title].value = dict(sorted(values[title].items()))
        columns[title].leads = list(
            session.scalars(
                sa.select(Lead)
                .where(Lead.stage.in_(members))
                .order_by(Lead.created_at.desc(), Lead.id.desc())
                .limit(CARDS_PER_COLUMN)
            )
        )
    return list(columns.values())
