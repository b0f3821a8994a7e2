"""Prometheus metrics, on a registry owned by the runtime (no process-global state)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from agent.composer.base import Usage


class _CallbackGauge(Collector):
    def __init__(self, name: str, documentation: str, label: str, read: Callable[[], Mapping[str, int]]) -> None:
        self._name, self._doc, self._label, self._read = name, documentation, label, read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self._name, self._doc, labels=[self._label])
        try:
            values = self._read()
        except Exception:  # a scrape must not fail because the database blinked
            values = {}
        for key, value in values.items():
            family.add_metric([key], value)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.graph_runs = Counter("nudge_graph_runs_total", "Lead graph runs", registry=self.registry)
        self.graph_run_seconds = Histogram(
            "nudge_graph_run_seconds",
            "Duration of one lead graph run",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.messages_sent = Counter(
            "nudge_messages_sent_total", "Messages handed to a provider", ["channel"], registry=self.registry
        )
        self.delivery_failures = Counter(
            "nudge_delivery_failures_total", "Sends a provider refused", ["channel", "code"], registry=self.registry
        )
        self.inbound = Counter(
            "nudge_inbound_messages_total", "Messages received from leads", ["channel"], registry=self.registry
        )

        # Per business, not per lead: a lead label would grow without bound (per-lead totals are in
        # the llm_usage table).
        self.llm_tokens = Counter(
            "nudge_llm_tokens_total",
            "Tokens spent on the LLM",
            ["business", "task", "kind"],
            registry=self.registry,
        )
        self.llm_calls = Counter(
            "nudge_llm_calls_total",
            "LLM calls by how they ended (ok, malformed, timeout, error, breaker_open)",
            ["task", "outcome"],
            registry=self.registry,
        )

    def count_llm_usage(self, business_id: str, usage: Usage) -> None:
        task = usage.task.split(":", 1)[0]  # compose:<kind> → compose, to keep the label set small
        self.llm_calls.labels(task=task, outcome=usage.outcome).inc()
        if usage.prompt_tokens:
            self.llm_tokens.labels(business=business_id, task=task, kind="prompt").inc(usage.prompt_tokens)
        if usage.completion_tokens:
            self.llm_tokens.labels(business=business_id, task=task, kind="completion").inc(usage.completion_tokens)

    def watch_mailbox(self, read: Callable[[], Mapping[str, int]]) -> None:
        self.registry.register(
            _CallbackGauge("nudge_mailbox_pending", "Unprocessed mailbox rows by kind", "kind", read)
        )
