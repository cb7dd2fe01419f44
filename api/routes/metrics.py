"""``GET /metrics``: Prometheus text format, this process's counters and the platform figures.

Public by default, as Prometheus scrapes: it holds platform-wide figures only (no tenant id, no
content). With ``SWITCHBOARD_METRICS_TOKEN`` set it needs ``Authorization: Bearer <token>``
(Prometheus: ``authorization: {credentials: ...}`` in the scrape config).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from api.deps import PoolDep, SettingsDep
from api.errors import ApiError
from infra.observability import metrics
from infra.observability.figures import PlatformFigures

router = APIRouter(tags=["health"])


class _Families(Collector):
    """The figures read for this scrape, as a collector prometheus_client can render."""

    def __init__(self, families: Sequence[object]) -> None:
        self._families = families

    def collect(self):  # type: ignore[no-untyped-def]
        """The families, as read."""
        return iter(self._families)


def _figures(request: Request, pool: PoolDep) -> PlatformFigures:
    """This process's figures reader (its audit tally lives as long as the app)."""
    figures: PlatformFigures | None = getattr(request.app.state, "platform_figures", None)
    if figures is None or figures.pool is not pool:
        figures = PlatformFigures(pool)
        request.app.state.platform_figures = figures
    return figures


@router.get(
    "/metrics", summary="Prometheus metrics", response_class=Response,
    include_in_schema=False,  # an operator's scrape target, not part of the API's contract
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}},
                     "description": "The Prometheus text exposition format"},
               401: {"description": "SWITCHBOARD_METRICS_TOKEN is set and was not given"}})
async def get_metrics(request: Request, pool: PoolDep, settings: SettingsDep) -> Response:
    """Webhooks answered, inbox backlog and relay lag, events, gateway calls, kill switch, ..."""
    token = settings.observability.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            raise ApiError(401, "unauthorized",
                           "GET /metrics needs Authorization: Bearer $SWITCHBOARD_METRICS_TOKEN")
    read = CollectorRegistry(auto_describe=False)
    read.register(_Families(await _figures(request, pool).collect_or_down()))
    return Response(metrics.exposition() + generate_latest(read),
                    media_type=CONTENT_TYPE_LATEST)
