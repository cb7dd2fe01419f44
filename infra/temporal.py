"""The Temporal client: address, namespace, TLS and API key from settings; pydantic payloads."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from infra.settings import TemporalSettings


async def connect(settings: TemporalSettings) -> Client:
    """Connect to the configured Temporal frontend."""
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        api_key=settings.api_key.get_secret_value() if settings.api_key else None,
        tls=settings.tls,
        data_converter=pydantic_data_converter,
    )
