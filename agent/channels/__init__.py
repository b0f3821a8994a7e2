"""Channels: sandbox (default) and live providers, chosen by NUDGE_CHANNELS."""

from agent.channels.base import (
    CHANNELS,
    Channel,
    ChannelError,
    ChannelName,
    FailureAction,
    OutboundMessage,
    SendResult,
)

__all__ = ["CHANNELS", "Channel", "ChannelError", "ChannelName", "FailureAction", "OutboundMessage", "SendResult"]
