"""The one place a chat model is built."""

from __future__ import annotations

from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from nudge.settings import Settings


def make_chat_model(settings: Settings, *, timeout: float) -> ChatOpenAI:
    """`ChatOpenAI` for OpenAI or any compatible server (vLLM, Ollama, llama.cpp).

    `max_retries=0`: the caller decides what is safe to retry within its time budget, and the
    openai client's own back-off would blow touch 1's budget.
    """
    return ChatOpenAI(
        model=settings.llm_model,
        # Local servers ignore the key but the client insists on one.
        api_key=SecretStr(settings.openai_api_key or "not-needed"),
        base_url=settings.openai_base_url or None,
        timeout=timeout,
        max_retries=0,
        temperature=0.4,
    )
