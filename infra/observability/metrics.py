"""The API process's own Prometheus metrics: counted in-process, as requests are answered.

Each API process counts its own requests (Prometheus scrapes every process as its own target
and sums them); what the database knows (backlog, statuses, gateway calls) is read at scrape
time instead, the same from any process (``figures.py``). The registry is this module's, not
prometheus_client's global one, so that nothing imported by chance adds series to /metrics.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.exposition import generate_latest

# No *_created series: one line per counter is what dashboards read.
disable_created_metrics()  # type: ignore[no-untyped-call]

PROVIDERS = frozenset({"github", "slack", "clickup"})
REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOKS = Counter(
    "switchboard_webhooks_received",
    "Webhook deliveries answered by this process, by provider and HTTP status of the answer "
    "(202 stored, 200 redelivery or handshake, 4xx refused, 503 inbox unavailable)",
    ["provider", "status"], registry=REGISTRY)
WEBHOOK_SECONDS = Histogram(
    "switchboard_webhook_answer_seconds",
    "Time from a delivery's first byte to its answer (verify + inbox commit), by provider",
    ["provider"], registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))


def webhook_provider(path: str) -> str | None:
    """The provider of a ``/webhooks/{provider}/...`` path (``other`` if unknown), else None."""
    if not path.startswith("/webhooks/"):
        return None
    provider = path[len("/webhooks/"):].split("/", 1)[0]
    return provider if provider in PROVIDERS else "other"


_CHILDREN: dict[tuple[str, int], tuple[Any, Any]] = {}


def count_webhook(provider: str, status: int, seconds: float) -> None:
    """Count one answered delivery (the labelled series looked up once per provider and status:
    ``labels()`` validates and locks on every call, ~3x the cost of the increment itself)."""
    children = _CHILDREN.get((provider, status))
    if children is None:
        children = (WEBHOOKS.labels(provider, str(status)), WEBHOOK_SECONDS.labels(provider))
        _CHILDREN[(provider, status)] = children
    children[0].inc()
    children[1].observe(seconds)


def exposition() -> bytes:
    """This process's counters in the Prometheus text format."""
    return generate_latest(REGISTRY)
