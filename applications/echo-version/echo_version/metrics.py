"""Prometheus metrics of the service, in a registry of its own."""

from __future__ import annotations

import gzip
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, PlatformCollector, ProcessCollector
from prometheus_client.exposition import choose_encoder, gzip_accepted

from echo_version.settings import Settings

PREFIX = "echo_version"
# Latency buckets up to the longest delay the service can be asked for.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0, 10.0, 30.0)
# Why a connection ended: the client closed it, the service closed it after an answer marked
# `Connection: close`, a limit or the shutdown ended it, or answering failed unexpectedly.
CLOSE_REASONS = ("client", "answered", "keepalive_timeout", "header_timeout", "send_timeout", "shutdown", "error")


class Metrics:
    """Request counter and latency histogram by route, connections, build and fault information."""

    def __init__(self, settings: Settings, in_flight: Callable[[], float], connections: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            f"{PREFIX}_http_requests", "HTTP requests answered, by route template, method and status code.",
            ["path", "method", "code"], registry=self.registry)
        self.latency = Histogram(
            f"{PREFIX}_http_request_duration_seconds", "Time to answer HTTP requests, by route template and method.",
            ["path", "method"], buckets=LATENCY_BUCKETS, registry=self.registry)
        Gauge(f"{PREFIX}_http_requests_in_flight", "HTTP requests being answered.",
              registry=self.registry).set_function(in_flight)
        Gauge(f"{PREFIX}_connections_open", "Client connections open.",
              registry=self.registry).set_function(connections)
        Gauge(f"{PREFIX}_connections_limit", "Connections served at once; further ones wait to be accepted.",
              registry=self.registry).set(settings.limits.max_connections)
        self.closed = Counter(f"{PREFIX}_connections_closed", "Client connections closed, by reason.",
                              ["reason"], registry=self.registry)
        self._closed = {reason: self.closed.labels(reason) for reason in CLOSE_REASONS}
        build = Gauge(
            f"{PREFIX}_build_info", "Always 1; labels carry the running version and environment.",
            ["version", "environment"], registry=self.registry)
        build.labels(settings.app_version, settings.environment).set(1)
        Gauge(f"{PREFIX}_fault_error_rate", "Configured share of /version requests answered 500.",
              registry=self.registry).set(settings.fault_error_rate)
        Gauge(f"{PREFIX}_fault_delay_seconds", "Configured latency added to /version.",
              registry=self.registry).set(settings.fault_delay_seconds)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        # Children by label values: looking them up here is cheaper than .labels() per request.
        self._counters: dict[tuple[str, str, str], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    def observe(self, path: str, method: str, code: int, seconds: float) -> None:
        """Count one answered request and record its latency."""
        key = (path, method, str(code))
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters.setdefault(key, self.requests.labels(*key))
        counter.inc()
        histogram = self._histograms.get(key[:2])
        if histogram is None:
            histogram = self._histograms.setdefault(key[:2], self.latency.labels(path, method))
        histogram.observe(seconds)

    def connection_closed(self, reason: str) -> None:
        """Count one closed connection; `reason` is one of CLOSE_REASONS."""
        self._closed[reason].inc()

    def exposition(self, accept: str | None, accept_encoding: str | None) -> tuple[bytes, str, str | None]:
        """The metrics body, its content type and content encoding, as the scraper asks."""
        encoder, content_type = choose_encoder(accept or "")
        body = encoder(self.registry)
        if gzip_accepted(accept_encoding or ""):
            return gzip.compress(body), content_type, "gzip"
        return body, content_type, None
