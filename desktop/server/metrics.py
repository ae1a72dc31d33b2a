"""The server's Prometheus metrics, through ``prometheus_client``.

With several workers each is its own process, so the metrics use the library's multiprocess
mode (``PROMETHEUS_MULTIPROC_DIR``, set by :mod:`desktop.server.run` before any worker starts):
each worker writes its values to files there, and ``/metrics`` from any worker adds up every
worker's counters and histograms; the gauges say the least current worker's change-log cursor
(``livemin``) and the largest staleness (``livemax``). Without that variable (an application
built in-process, as the unit tests build it) the values are this process's own.
"""

from __future__ import annotations

import os
from bisect import bisect_left

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"

# The label of every environment the registry does not have: never a request's own text, so
# an outsider cannot grow the number of series.
UNKNOWN_ENVIRONMENT = "(unknown)"
OUTCOMES = {
    200: "allowed",
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    503: "unavailable",
}
# A decision from memory takes microseconds; the upper buckets catch a stalled event loop.
LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25)
CHANGES_METRIC = "tokendesk_index_changes"


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_VARIABLE) or None


class Metrics:
    """The metrics of one application. A registry of its own (not the library's global one),
    so tests may build several applications in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.multiprocess = multiprocess_dir() is not None
        self.decisions = Counter(
            "tokendesk_auth_decisions",
            "Forward-auth answers by environment and outcome.",
            ["environment", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tokendesk_auth_decision_seconds",
            "Time to decide one /v1/auth request, in the server (not the network).",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.changes = Gauge(
            CHANGES_METRIC,
            "The change-log cursor the access index reflects (the least current worker's).",
            multiprocess_mode="livemin",
            registry=self.registry,
        )
        self.tokens = Gauge(
            "tokendesk_index_secrets",
            "Secrets the access index holds (current and in grace).",
            multiprocess_mode="livemax",
            registry=self.registry,
        )
        self.unreachable = Gauge(
            "tokendesk_registry_unconfirmed_seconds",
            "Seconds since the registry last answered (the most of any worker).",
            multiprocess_mode="livemax",
            registry=self.registry,
        )
        self.use_writes = Counter(
            "tokendesk_usage_writes",
            "Batches of token uses written to the registry.",
            registry=self.registry,
        )
        # Counted here per request, handed to the metrics by publish(): a counter's inc() and
        # a histogram's observe() cost microseconds each in multiprocess mode (a lock and a
        # write to a mapped file), a dict and a list update a fraction of one.
        self._pending: dict[tuple[str | None, int], int] = {}
        self._latency_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self._latency_sum = 0.0

    def decided(self, environment: str | None, status: int, seconds: float) -> None:
        """Count one answer, that took *seconds*; *environment* is the registry's name for the
        environment, or None. Only on the thread that calls :meth:`publish` (the event loop)."""
        key = (environment, status)
        pending = self._pending
        pending[key] = pending.get(key, 0) + 1
        self._latency_counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self._latency_sum += seconds

    def publish(self) -> None:
        """Hand what :meth:`decided` counted to the metrics (every second, and before
        ``/metrics`` answers), on the thread that counts."""
        pending, self._pending = self._pending, {}
        for (environment, status), count in pending.items():
            label = environment or UNKNOWN_ENVIRONMENT
            self.decisions.labels(label, OUTCOMES.get(status, str(status))).inc(count)
        counts, self._latency_counts = self._latency_counts, [0] * (len(LATENCY_BUCKETS) + 1)
        total, self._latency_sum = self._latency_sum, 0.0
        if any(counts):
            # A histogram has no public way to add many observations at once: its bucket and
            # sum values take them as observe() would (tests/unit/server checks the text).
            for bucket, count in zip(self.latency._buckets, counts, strict=True):
                if count:
                    bucket.inc(count)
            self.latency._sum.inc(total)

    def render(self) -> bytes:
        """The text ``/metrics`` answers: every worker's, in multiprocess mode."""
        self.publish()
        return generate_latest(self._collected())

    def least_changes(self) -> int | None:
        """The change-log cursor of the least current worker (this process alone, unless in
        multiprocess mode), or None before any reported one."""
        for family in self._collected().collect():
            if family.name == CHANGES_METRIC:
                values = [sample.value for sample in family.samples]
                return int(min(values)) if values else None
        return None

    def _collected(self) -> CollectorRegistry:
        if not self.multiprocess:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry

    def close(self) -> None:
        """This worker is ending: its gauges leave the live ones (its counts stay)."""
        if self.multiprocess:
            mark_process_dead(os.getpid())
