"""Prometheus metrics, on a registry owned by the runtime (no process-global state)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


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

    def watch_mailbox(self, read: Callable[[], Mapping[str, int]]) -> None:
        self.registry.register(
            _CallbackGauge("nudge_mailbox_pending", "Unprocessed mailbox rows by kind", "kind", read)
        )
