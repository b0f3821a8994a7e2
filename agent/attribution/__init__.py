"""Multi-touch attribution: journeys in, credits out. Pure functions; no database, no clock."""

from agent.attribution.credit import DIMENSIONS, MODELS, Credit, CreditReport, attribute
from agent.attribution.journey import Journey, TouchPoint

__all__ = ["DIMENSIONS", "MODELS", "Credit", "CreditReport", "Journey", "TouchPoint", "attribute"]
