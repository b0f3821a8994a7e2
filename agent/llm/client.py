"""Calling the model for one task: structured output, a time budget, the breaker, token usage."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import openai
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from agent.composer.base import Usage
from agent.llm.breaker import CircuitBreaker
from agent.llm.model import make_chat_model
from nudge.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

# (business id, usage) → metrics; the caller's run records the same usage in the database.
UsageSink = Callable[[str, Usage], None]

# Worth one more attempt: the request never reached the model or the server said "try again".
_TRANSIENT = (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)


class LLMUnavailable(Exception):
    """No usable answer; the caller falls back. `usage` is set when the model did answer."""

    def __init__(self, reason: str, outcome: str, usage: Usage | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcome = outcome
        self.usage = usage


@dataclass(frozen=True)
class Answer(Generic[T]):
    value: T
    usage: Usage


def _usage(raw: Any, task: str, model: str, outcome: str) -> Usage:
    meta = raw.usage_metadata if isinstance(raw, AIMessage) else None
    return Usage(
        task=task,
        model=model,
        prompt_tokens=int(meta["input_tokens"]) if meta else 0,
        completion_tokens=int(meta["output_tokens"]) if meta else 0,
        outcome=outcome,
    )


class LLM:
    def __init__(
        self,
        settings: Settings,
        *,
        breaker: CircuitBreaker,
        on_usage: UsageSink | None = None,
        model_factory: Callable[..., ChatOpenAI] = make_chat_model,
    ) -> None:
        self.model_name = settings.llm_model
        self.timeout = settings.llm_timeout
        self.first_touch_timeout = settings.llm_first_touch_timeout
        self.breaker = breaker
        self._settings = settings
        self._method = settings.llm_structured_method
        self._on_usage = on_usage
        self._factory = model_factory
        self._runnables: dict[tuple[type[BaseModel], float], Runnable[Any, Any]] = {}
        self._lock = threading.Lock()

    def _runnable(self, schema: type[BaseModel], timeout: float) -> Runnable[Any, Any]:
        key = (schema, timeout)
        with self._lock:
            if key not in self._runnables:
                model = self._factory(self._settings, timeout=timeout)
                self._runnables[key] = model.with_structured_output(schema, method=self._method, include_raw=True)
            return self._runnables[key]

    def _emit(self, business_id: str, usage: Usage) -> None:
        if self._on_usage is not None:
            self._on_usage(business_id, usage)

    def ask(
        self,
        schema: type[T],
        messages: Sequence[BaseMessage],
        *,
        task: str,
        business_id: str,
        timeout: float | None = None,
        retry: bool = True,
    ) -> Answer[T]:
        """The parsed answer, or LLMUnavailable. Retries once on a transient error when `retry`
        (a chat completion has no side effects; touch 1 passes retry=False to keep its budget)."""
        budget = timeout or self.timeout
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            if not self.breaker.allow():
                failed = Usage(task, self.model_name, 0, 0, "breaker_open")
                self._emit(business_id, failed)
                raise LLMUnavailable("the model is paused after repeated errors", "breaker_open", failed)
            try:
                result = self._runnable(schema, budget).invoke(list(messages))
            except openai.APITimeoutError as exc:
                self.breaker.failure()
                failed = Usage(task, self.model_name, 0, 0, "timeout")
                self._emit(business_id, failed)
                raise LLMUnavailable(f"no answer within {budget:.1f}s", "timeout", failed) from exc
            except (ValueError, OutputParserException, openai.LengthFinishReasonError) as exc:
                # json_schema answers are parsed inside the openai client (pydantic's
                # ValidationError is a ValueError): an answer that arrived in the wrong shape.
                self.breaker.failure()
                bad = Usage(task, self.model_name, 0, 0, "malformed")
                self._emit(business_id, bad)
                raise LLMUnavailable("the model's answer did not match the expected shape", "malformed", bad) from exc
            except Exception as exc:  # any provider error is a fallback, never a failed run
                self.breaker.failure()
                if isinstance(exc, _TRANSIENT) and attempt + 1 < attempts:
                    log.info("LLM %s failed (%s); retrying once", task, exc)
                    continue
                failed = Usage(task, self.model_name, 0, 0, "error")
                self._emit(business_id, failed)
                raise LLMUnavailable(f"the model endpoint failed: {type(exc).__name__}", "error", failed) from exc
            parsed, raw = result.get("parsed"), result.get("raw")
            if not isinstance(parsed, schema):
                self.breaker.failure()
                bad = _usage(raw, task, self.model_name, "malformed")
                self._emit(business_id, bad)
                raise LLMUnavailable("the model's answer did not match the expected shape", "malformed", bad)
            self.breaker.success()
            usage = _usage(raw, task, self.model_name, "ok")
            self._emit(business_id, usage)
            return Answer(parsed, usage)
        raise AssertionError("unreachable")  # pragma: no cover
