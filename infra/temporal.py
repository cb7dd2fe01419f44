"""The Temporal client: address, namespace, TLS and API key from settings; pydantic payloads,
sealed by the payload codec (infra/codec.py) when keys are set; tracing interceptors when this
process traces (infra/tracing.py); for worker processes, the SDK's Prometheus metrics."""

from __future__ import annotations

import asyncio

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from infra import codec, tracing
from infra.settings import TemporalSettings, WorkerMetricsSettings
from workflows import search


async def connect(settings: TemporalSettings, *, runtime: Runtime | None = None) -> Client:
    """Connect to the configured Temporal frontend.

    Every process (API, platform worker, agent workers, CLI) connects here, so all of them seal
    and open payloads with the same keys, and the workers made on this client inherit its
    tracing interceptors. ``runtime``: a worker process's, exporting the SDK's metrics.
    """
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        tls=settings.tls,
        data_converter=codec.data_converter(settings.payload),
        interceptors=tracing.client_interceptors(),
        runtime=runtime,
    )


def worker_runtime(settings: WorkerMetricsSettings) -> Runtime | None:
    """A Temporal runtime serving the SDK's worker metrics (poll and schedule-to-start latency,
    slots, sticky cache, activity and workflow task outcomes) in Prometheus format at
    ``http://<address>/metrics``; None (the default runtime, no metrics) when unset.

    One per process, made before its client; each worker process needs its own port.
    """
    if not settings.address:
        return None
    return Runtime(telemetry=TelemetryConfig(
        metrics=PrometheusConfig(bind_address=settings.address)))


async def ensure_search_attributes(client: Client) -> list[str]:
    """Register Switchboard's search attributes on the namespace if missing; return those added.

    ``switchboard up`` registers them with dev server flags; against another cluster the platform
    worker does it at start. Without them workflows could not be filtered in the UI (and starting
    one that sets them would fail).
    """
    namespace = client.namespace
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    existing = set(listed.custom_attributes) | set(listed.system_attributes)
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in search.ALL if key.name not in existing
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)


class LazyClient:
    """One Temporal client per process, connected on first use (the API starts without it)."""

    def __init__(self, settings: TemporalSettings) -> None:
        self._settings = settings
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        """The connected client; raises if Temporal cannot be reached."""
        async with self._lock:
            if self._client is None:
                self._client = await connect(self._settings)
            return self._client

    def forget(self) -> None:
        """Drop the client after a connection failure; the next get() reconnects."""
        self._client = None
