"""The FastAPI application: webhooks, admin API, docs, and the relay running beside them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from api.agent_channel import AgentChannel
from api.audit_trail import AuditTrail
from api.deps import AppState
from api.errors import install_error_handlers
from api.inputs import RefuseNul
from api.openapi import SwitchboardAPI
from api.providers import rules_by_provider
from api.request_context import RequestContext
from api.routes import (
    admin_agents,
    admin_approvals,
    admin_audit,
    admin_control,
    admin_events,
    admin_gateway,
    admin_memory,
    admin_projects,
    admin_runs,
    admin_schedules,
    admin_secrets,
    admin_sessions,
    admin_tenants,
    admin_usage,
    admin_users,
    agent_ws,
    auth,
    context,
    gateway,
    health,
    metrics,
    oauth,
    webhooks,
)
from api.routes import codec as codec_routes
from api.signing_secrets import SigningSecrets
from api.webhook_spans import WebhookSpans
from infra import database, temporal, tracing
from infra.gateway.clients import aclose_clients
from infra.inbox.relay import Doorbell, Relay
from infra.inbox.writer import InboxWriter
from infra.services import build_keys, build_services
from infra.settings import Settings
from infra.users.service import Users

log = logging.getLogger(__name__)

DESCRIPTION = """
Switchboard ingests signed webhooks from GitHub, Slack and ClickUp, commits each delivery to a
durable inbox, and runs it as a Temporal workflow: normalize, resolve the agents, dispatch.

* **Webhooks**: `POST /webhooks/{provider}/{tenant}`, signed with the tenant's secret.
* **Admin**: every `/admin` route needs `Authorization: Bearer <token>`: the bootstrap
  super-admin's `$SWITCHBOARD_ADMIN_TOKEN`, or a user's access token (`POST /auth/login`, or the
  configured OpenID Connect provider's) with a role on the tenant (viewer, operator, admin, owner).
* **Errors**: every error answers `{"error": <code>, "detail": <what was wrong>}`; a NUL character
  in any string, or an id past 2^63 - 1, is refused with a 422.
"""


def create_app(settings: Settings, *, run_relay: bool = True) -> FastAPI:
    """Build the app; the lifespan opens the pool, applies migrations and starts the relay."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.database.url
        if url is None:
            raise RuntimeError("DATABASE_URL is not set (switchboard up sets it for you)")
        pool = await database.create_pool(
            url, min_size=settings.database.pool_min, max_size=settings.database.pool_max
        )
        async with pool.acquire() as conn:
            await database.migrate(conn)
        try:  # one place says how both processes build what they share: infra/services.py
            keys = build_keys(settings, pool)
            services = build_services(settings, pool)
        except Exception:
            await pool.close()
            raise
        temporal_client = temporal.LazyClient(settings.temporal)
        channel = AgentChannel(pool)
        await channel.start()
        relay = Relay(
            pool, temporal_client, settings.temporal.task_queue,
            sweep_seconds=settings.api.relay_sweep_seconds, batch=settings.api.relay_batch,
        ) if run_relay else None
        app.state.switchboard = AppState(
            settings=settings,
            pool=pool,
            inbox=InboxWriter(pool),
            sealer=keys.sealer,
            signing_secrets=SigningSecrets(pool, keys.sealer, settings.api.secret_cache_seconds),
            providers=rules_by_provider(settings.api.slack_max_skew_seconds),
            tokens=keys.tokens,
            secrets=services.secrets,
            gateway=services.gateway,
            channel=channel,
            knowledge=services.knowledge,
            doorbell=Doorbell(pool, relay),
            temporal=temporal_client,
            users=Users(pool, keys.tokens, settings.auth, settings.oidc),
        )
        relay_task = asyncio.create_task(relay.run(), name="relay") if relay else None
        try:
            yield
        finally:
            if relay_task is not None:
                relay_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await relay_task
            try:
                await channel.stop()
                await aclose_clients()  # the gateway's long-lived provider clients
            finally:  # a connection still held must not hang shutdown: close() then terminates
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pool.close(), 10)

    app = SwitchboardAPI(
        title="Switchboard", version="0.1.0", description=DESCRIPTION, lifespan=lifespan
    )
    install_error_handlers(app)
    # The webhook door answers providers with its own statuses (README) and checks its path.
    app.add_middleware(RefuseNul, exempt=("/webhooks/",))
    app.add_middleware(AuditTrail)  # who did what: admin writes, tokens, refusals (infra/audit/)
    app.add_middleware(RequestContext)  # request ids in the logs, webhook counts in /metrics
    for router in (webhooks.router, admin_tenants.router, admin_agents.router,
                   admin_projects.router, admin_events.router, admin_usage.router,
                   admin_secrets.router, admin_gateway.router, admin_audit.router,
                   admin_control.router, admin_users.router, auth.router,
                   gateway.router, oauth.router, agent_ws.router, context.router,
                   health.router, admin_memory.router, admin_sessions.router,
                   metrics.router):
        app.include_router(router)
    app.include_router(admin_approvals.router)
    app.include_router(admin_runs.router)  # issue #15: manual runs and every run's record
    app.include_router(admin_schedules.router)  # issue #15: batch agents on Temporal Schedules
    codec_routes.install(app, settings)  # /codec/*: the Temporal UI reads sealed payloads
    if tracing.configure(settings.tracing, "switchboard-api"):  # off unless OTEL_* say so
        app.add_middleware(WebhookSpans)
    return app
