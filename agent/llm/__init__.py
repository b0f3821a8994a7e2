"""Access to an OpenAI-compatible chat model: one factory, a circuit breaker, token accounting.

Optional by design: nothing here is built unless `Settings.llm_configured`; callers fall back to
templates and the offline qualifier whenever `LLM.ask` raises `LLMUnavailable`.
"""

from agent.llm.breaker import CircuitBreaker
from agent.llm.client import LLM, Answer, LLMUnavailable, UsageSink
from agent.llm.model import make_chat_model
from agent.llm.qualifier import LLMQualifier, Qualified, Qualifier, offline_qualifier

__all__ = [
    "LLM",
    "Answer",
    "CircuitBreaker",
    "LLMQualifier",
    "LLMUnavailable",
    "Qualified",
    "Qualifier",
    "UsageSink",
    "make_chat_model",
    "offline_qualifier",
]
