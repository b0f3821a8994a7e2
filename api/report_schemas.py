"""Response shapes of /v1/reports, built from the report dataclasses (the CLI's --json uses them too)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field

from agent.attribution import CreditReport
from agent.attribution.credit import Credit
from agent.reports import FunnelReport
from agent.sequence import Sequence, format_duration

ModelName = Literal["first", "last", "linear", "time_decay", "position", "markov"]


class CreditOut(BaseModel):
    key: str
    conversions: float
    value: dict[str, float] = Field(description="currency → value credited")


class TotalOut(BaseModel):
    conversions: float
    value: dict[str, float]


class AttributionOut(BaseModel):
    model: ModelName
    half_life: str | None = Field(description="time_decay only")
    journeys: int = Field(description="leads with at least one touch or conversion")
    total: TotalOut = Field(description="what the credits of every dimension add up to")
    unattributed: int = Field(description="conversions with no touch before them (nothing to credit)")
    by: dict[str, list[CreditOut]] = Field(
        description="touch, channel, touch_channel, case_study, variant (wording), arm (experiment), "
        "composer (template or llm)"
    )


def _rounded(value: dict[str, float]) -> dict[str, float]:
    return {currency: round(amount, 6) for currency, amount in sorted(value.items())}


def _credit(key: str, credit: Credit) -> CreditOut:
    return CreditOut(key=key, conversions=round(credit.conversions, 9), value=_rounded(credit.value))


def attribution_out(report: CreditReport, half_life: timedelta) -> AttributionOut:
    return AttributionOut(
        model=report.model,
        half_life=format_duration(half_life) if report.model == "time_decay" else None,
        journeys=report.journeys,
        total=TotalOut(conversions=report.total.conversions, value=_rounded(report.total.value)),
        unattributed=report.unattributed,
        by={
            dimension: [
                _credit(key, credit)
                for key, credit in sorted(credits.items(), key=lambda kv: (-kv[1].conversions, kv[0]))
            ]
            for dimension, credits in report.by.items()
        },
    )


class FunnelRowOut(BaseModel):
    touch: int
    purpose: str
    sent: int
    delivered: int
    read: int
    replied: int = Field(description="leads whose reply came while this was their latest touch")
    clicked: int
    converted: int = Field(description="leads who converted while this was their latest touch")


class RecoveryOut(BaseModel):
    leads: int = Field(description="went cold (recovery) or were sent the break-up (breakup)")
    recovered: int
    rate: float


class ArmOut(BaseModel):
    arm: str
    leads: int
    converted: int
    rate: float
    lift: float | None = Field(description="conversion rate minus the control's")
    low: float | None = Field(description="95% interval, Newcombe hybrid score (Wilson) for a difference")
    high: float | None


class ExperimentOut(BaseModel):
    experiment: str
    touch: int
    control: str
    arms: list[ArmOut]


class FunnelOut(BaseModel):
    leads: int
    touches: list[FunnelRowOut]
    recovery: RecoveryOut
    breakup: RecoveryOut
    experiments: list[ExperimentOut]


def funnel_out(report: FunnelReport, sequence: Sequence) -> FunnelOut:
    def purpose(number: int) -> str:
        spec = sequence.touch(number)
        return spec.purpose if spec else ""

    return FunnelOut(
        leads=report.leads,
        touches=[FunnelRowOut(touch=row.touch, purpose=purpose(row.touch), **row.counts) for row in report.rows],
        recovery=RecoveryOut(
            leads=report.recovery.leads, recovered=report.recovery.recovered, rate=round(report.recovery.rate, 6)
        ),
        breakup=RecoveryOut(
            leads=report.breakup.leads, recovered=report.breakup.recovered, rate=round(report.breakup.rate, 6)
        ),
        experiments=[
            ExperimentOut(
                experiment=e.experiment,
                touch=e.touch,
                control=e.control,
                arms=[
                    ArmOut(
                        arm=a.arm,
                        leads=a.leads,
                        converted=a.converted,
                        rate=round(a.rate, 6),
                        lift=round(a.lift.difference, 6) if a.lift else None,
                        low=round(a.lift.low, 6) if a.lift else None,
                        high=round(a.lift.high, 6) if a.lift else None,
                    )
                    for a in e.arms
                ],
            )
            for e in report.experiments
        ],
    )
