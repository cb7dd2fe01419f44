"""Every write counts: issues, tasks and pushes against the same per-agent rate as messages.

A looping agent opening GitHub issues is held like one posting to Slack: the 11th write in a
minute is refused (``limited``, HTTP 429 with ``Retry-After``), and a tenant may hold one intent
to fewer. The real gateway, vault and breaker on the session's PostgreSQL; PyGithub against
the local GitHub fake; the HTTP case through the real API.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from infra.directory import agents as agent_dir
from infra.gateway import store as grants
from infra.gateway.outcome import Outcome, OutcomeKind
from infra.gateway.service import Gateway
from infra.governance import CircuitBreaker
from infra.settings import GatewaySettings
from tests.admin import agent_token, bearer, grant, store_secret
from tests.conftest import Remotes, TenantFactory
from tests.fakes.github_api import FakeGitHub
from tests.governance.conftest import vaulted_gateway
from workflows.contracts import GatewayCall, ToolCall

TOKEN = "ghp-breaker-2c9a7e-never-shown"
REPO = "acme/frontend"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """GitHub's REST API with acme/frontend and its issue #7."""
    with FakeGitHub(TOKEN, repos=(REPO,)) as fake:
        fake.add_issue(REPO, 7)
        yield fake


@pytest.fixture
async def gateway(db: asyncpg.Pool, github: FakeGitHub, tenant: str) -> Gateway:
    """The real gateway of one worker; the tenant's GitHub token in the embedded vault."""
    settings = GatewaySettings(github_api_url=github.base_url, timeout_seconds=10)
    return await vaulted_gateway(db, tenant, "github_token", TOKEN, settings)


async def _agent(db: asyncpg.Pool, tenant: str) -> str:
    agent = f"filer-{uuid.uuid4().hex[:6]}"
    await agent_dir.create_agent(db, tenant, agent, agent)
    for intent in ("github_create_issue", "github_comment"):
        await grants.add_grant(db, tenant, agent, intent, "*")
    return agent


async def call(gateway: Gateway, tenant: str, agent: str, intent: str, **args: object
               ) -> Outcome:
    """One gateway call, as a new step of the agent (a fresh idempotency key)."""
    return await gateway.execute(GatewayCall(
        tenant_id=tenant, agent_id=agent, idempotency_key=uuid.uuid4().hex,
        call=ToolCall(id="c1", name=intent, arguments={"repo": REPO, **args})), "test")


async def test_the_eleventh_created_issue_in_a_minute_is_refused_like_the_eleventh_message(
        gateway: Gateway, github: FakeGitHub, db: asyncpg.Pool, tenant: str) -> None:
    agent = await _agent(db, tenant)
    for i in range(10):
        made = await call(gateway, tenant, agent, "github_create_issue", title=f"Flaky test {i}")
        assert made.kind is OutcomeKind.OK, made
    refused = await call(gateway, tenant, agent, "github_create_issue", title="Flaky test 10")
    assert refused.kind is OutcomeKind.LIMITED
    assert refused.error and "(limit 10 per minute)" in refused.error
    assert refused.retry_after is not None and 0 < refused.retry_after.total_seconds() <= 60
    assert len(github.issues) == 1 + 10  # issue #7, then ten, not eleven
    # A comment is a write too: the same rate holds it.
    comment = await call(gateway, tenant, agent, "github_comment", number=7, body="Still flaky")
    assert comment.kind is OutcomeKind.LIMITED and not github.comments


async def test_issues_with_the_same_title_are_not_a_stuck_agent(
        gateway: Gateway, github: FakeGitHub, db: asyncpg.Pool, tenant: str) -> None:
    agent = await _agent(db, tenant)
    for _ in range(2):
        made = await call(gateway, tenant, agent, "github_create_issue", title="Nightly failed")
        assert made.kind is OutcomeKind.OK, made
    assert await db.fetchval("SELECT status FROM agents WHERE tenant_id = $1 AND id = $2",
                             tenant, agent) == "active"


async def test_a_tenant_may_hold_one_intent_to_fewer_writes_than_the_rest(
        gateway: Gateway, github: FakeGitHub, db: asyncpg.Pool, tenant: str) -> None:
    await CircuitBreaker(db).set_limits(tenant, intents={"github_create_issue": 3})
    agent = await _agent(db, tenant)
    kinds = [(await call(gateway, tenant, agent, "github_create_issue", title=f"Bug {i}")).kind
             for i in range(4)]
    assert kinds == [OutcomeKind.OK] * 3 + [OutcomeKind.LIMITED]
    refused = await call(gateway, tenant, agent, "github_create_issue", title="Bug 5")
    assert refused.error and "(limit 3 per minute for github_create_issue)" in refused.error
    # Other writes keep the general rate: 3 issues + 7 comments, then the 11th write waits.
    comments = [(await call(gateway, tenant, agent, "github_comment", number=7,
                            body=f"note {i}")).kind for i in range(8)]
    assert comments == [OutcomeKind.OK] * 7 + [OutcomeKind.LIMITED]
    assert len(github.comments) == 7


async def test_a_failed_create_does_not_use_up_the_rate(
        gateway: Gateway, github: FakeGitHub, db: asyncpg.Pool, tenant: str) -> None:
    agent = await _agent(db, tenant)
    github.fail_next(502, times=10)
    for i in range(10):
        failed = await call(gateway, tenant, agent, "github_create_issue", title=f"Try {i}")
        assert failed.kind is OutcomeKind.RETRYABLE, failed
    made = await call(gateway, tenant, agent, "github_create_issue", title="Try 10")
    assert made.kind is OutcomeKind.OK, made


async def test_the_eleventh_issue_over_http_is_a_429_with_retry_after(
        http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
        remotes: Remotes) -> None:
    agent = f"filer-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    await store_secret(http, admin, tenant, "github_token")
    await grant(http, admin, tenant, agent, "github_create_issue")
    auth = bearer(await agent_token(http, admin, tenant, agent))
    answers = [await http.post("/gateway/execute", headers={
        **auth, "Idempotency-Key": str(uuid.uuid4())}, json={
        "intent": "github_create_issue", "args": {"repo": REPO, "title": f"{tenant} {i}"}})
        for i in range(11)]
    assert [r.status_code for r in answers] == [200] * 10 + [429], answers[-1].text
    refused = answers[-1]
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    opened = [i for i in remotes.github.issues.values() if i["title"].startswith(tenant)]
    assert len(opened) == 10


async def test_a_per_intent_rate_set_over_http_is_obeyed_and_reply_is_refused_one(
        http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory) -> None:
    agent = f"filer-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    r = await http.put(f"/admin/tenants/{tenant}/limits", headers=admin,
                       json={"intents": {"github_create_issue": 2}})
    assert r.status_code == 200, r.text
    assert r.json()["intents"] == {"github_create_issue": 2}
    assert r.json()["messages_per_minute"] == 10
    r = await http.put(f"/admin/tenants/{tenant}/limits", headers=admin,
                       json={"intents": {"reply": 2}})
    assert r.status_code == 422 and r.json()["error"] == "invalid_intent"
    assert (await http.get(f"/admin/tenants/{tenant}/limits", headers=admin)).json()[
        "intents"] == {"github_create_issue": 2}

    await store_secret(http, admin, tenant, "github_token")
    await grant(http, admin, tenant, agent, "github_create_issue")
    auth = bearer(await agent_token(http, admin, tenant, agent))
    codes = [(await http.post("/gateway/execute", headers={
        **auth, "Idempotency-Key": str(uuid.uuid4())}, json={
        "intent": "github_create_issue", "args": {"repo": REPO, "title": f"{tenant} {i}"}})
    ).status_code for i in range(3)]
    assert codes == [200, 200, 429]
