"""Writing messages: template phrasings offline, an LLM when one is configured."""

from agent.composer.base import (
    CHANNEL_LIMITS,
    Composer,
    ComposeRequest,
    Draft,
    LeadContext,
    MessageKind,
    Usage,
)
from agent.composer.phrasebook import Phrasebook, load_phrasebook
from agent.composer.template import TemplateComposer

__all__ = [
    "CHANNEL_LIMITS",
    "ComposeRequest",
    "Composer",
    "Draft",
    "LeadContext",
    "MessageKind",
    "Phrasebook",
    "TemplateComposer",
    "Usage",
    "load_phrasebook",
]
