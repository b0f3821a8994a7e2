"""Builds the channel set for the configured mode (sandbox or live)."""

from __future__ import annotations

from collections.abc import Mapping

from agent.channels.base import Channel
from agent.channels.email import SmtpEmailChannel
from agent.channels.sandbox import SandboxChannel
from agent.channels.twilio import TwilioChannel, make_twilio_client
from nudge.settings import Settings


def build_channels(settings: Settings) -> Mapping[str, Channel]:
    if settings.channels == "sandbox":
        return {name: SandboxChannel(name) for name in ("whatsapp", "sms", "email")}
    settings.check_live_channels()
    client = make_twilio_client(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_url)
    return {
        "whatsapp": TwilioChannel("whatsapp", client),
        "sms": TwilioChannel("sms", client),
        "email": SmtpEmailChannel(settings.smtp_url),
    }
