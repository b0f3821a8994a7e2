"""The default channel: messages are recorded in Nudge's own tables and go nowhere else."""

from __future__ import annotations

from datetime import datetime

from agent.channels.base import OutboundMessage, SendResult
from nudge.ids import new_id


class SandboxChannel:
    # Nothing leaves the process: the deliverer records the send in the run's own transaction.
    records_only = True

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(provider_id=new_id("sb"), status="delivered")

    def find_sent(self, message: OutboundMessage, since: datetime) -> SendResult | None:
        # Nothing left the building, so a message interrupted mid-send was never delivered.
        return None
