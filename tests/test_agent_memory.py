"""Agent memory (issue #14 part 4): core facts and episodic summaries per agent and tenant.

Against the real API, PostgreSQL + pgvector, the ONNX embedder, the gateway and, for the think
input and the prompt, the real pipeline (signed Slack webhook -> EventWorkflow -> a scripted
agent runtime).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.context import ContextActivities
from activities.events import EventActivities
from activities.gateway import GatewayActivities
from infra.context import KnowledgeStore, OnnxMiniLMEmbedder, build_summarizer
from infra.directory.resolver import Resolver
from infra.gateway.registry import builtin_intents
from infra.gateway.service import Gateway
from infra.memory import add_episodic, recall, set_core
from infra.settings import ContextSettings, Settings
from infra.vault import build_secret_store
from tests.admin import grant
from tests.api.test_users import _as
from tests.conftest import TenantFactory
from tests.context.conftest import CountingEmbedder
from tests.harness import running
from tests.test_context_pipeline import slack_message
from tests.test_pipeline import wait_status
from workers.agent import agent_worker
from workers.runtime import ScriptedLLM
from workers.runtime.agent import AgentRuntime
from workflows.contracts import (
    Actor,
    EventKind,
    GatewayCall,
    PlanInput,
    Provider,
    StandardEvent,
    ThinkInput,
    ThinkOutput,
    ToolCall,
)
from workflows.names import THINK_ACTIVITY

LOGIN = "Last session: fixed the Safari login timeout by setting Secure on the session cookie."
LUNCH = "Booked the Thai place for the team lunch on Friday, table for eight."
BILLING = "Explained to finance how invoices are exported to CSV every month."


@pytest.fixture(scope="module")
def minilm() -> OnnxMiniLMEmbedder:
    """The offline default embedder (the context engine's), loaded once."""
    return OnnxMiniLMEmbedder()


def memory_url(tenant: str, agent: str, rest: str = "") -> str:
    """The agent's memory routes."""
    return f"/admin/tenants/{tenant}/agents/{agent}/memory{rest}"


async def listed(http: httpx.AsyncClient, headers: dict[str, str], tenant: str, agent: str,
                 kind: str | None = None) -> list[dict[str, Any]]:
    """GET the agent's memory (200 expected)."""
    r = await http.get(memory_url(tenant, agent), headers=headers,
                       params={"type": kind} if kind else None)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


async def test_admin_sets_lists_and_deletes_an_agents_memory(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    pool: asyncpg.Pool,
) -> None:
    tenant = await make_tenant(agents=("coder",))
    r = await http.put(memory_url(tenant, "coder", "/core/deploy_day"), headers=admin,
                       json={"value": "Tuesday"})
    assert r.status_code == 200, r.text
    first = r.json()
    assert (first["type"], first["key"], first["value"], first["written_by"]) == (
        "core", "deploy_day", "Tuesday", "admin:bootstrap-admin")
    assert first["tokens"] > 0
    r = await http.put(memory_url(tenant, "coder", "/core/deploy_day"), headers=admin,
                       json={"value": "Thursday"})  # the same key: replaced, not added
    assert r.status_code == 200 and r.json()["id"] == first["id"]
    episode = await add_episodic(pool, tenant, "coder", LOGIN, "session-1")

    rows = await listed(http, admin, tenant, "coder")
    assert [(m["type"], m["key"], m["value"]) for m in rows] == [
        ("core", "deploy_day", "Thursday"), ("episodic", None, LOGIN)]
    assert rows[1]["session_id"] == "session-1" and rows[1]["written_by"] == "platform"
    assert [m["id"] for m in await listed(http, admin, tenant, "coder", "episodic")] == [episode]
    assert [m["key"] for m in await listed(http, admin, tenant, "coder", "core")] == ["deploy_day"]

    viewer = await _as(http, admin, tenant, "viewer")
    assert len(await listed(http, viewer, tenant, "coder")) == 2
    r = await http.put(memory_url(tenant, "coder", "/core/x"), headers=viewer, json={"value": "y"})
    assert r.status_code == 403
    assert (await http.delete(memory_url(tenant, "coder", f"/{episode}"),
                              headers=viewer)).status_code == 403

    r = await http.delete(memory_url(tenant, "coder", f"/{episode}"), headers=admin)
    assert r.status_code == 204
    r = await http.delete(memory_url(tenant, "coder", f"/{episode}"), headers=admin)
    assert r.status_code == 404 and r.json()["error"] == "unknown_memory"
    assert [m["type"] for m in await listed(http, admin, tenant, "coder")] == ["core"]

    # Deleting the agent deletes its memory
    await set_core(pool, tenant, "coder", "x", "y", by="admin:test")
    await pool.execute("DELETE FROM agents WHERE tenant_id = $1 AND id = 'coder'", tenant)
    assert await pool.fetchval("SELECT count(*) FROM agent_memory WHERE tenant_id = $1",
                               tenant) == 0


async def test_bad_input_is_422_and_unknown_things_404(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant(agents=("coder",))
    for key, body in [("has space", {"value": "v"}), ("-dash-first", {"value": "v"}),
                      ("k" * 129, {"value": "v"}), ("ok", {"value": ""}),
                      ("ok", {"value": "v" * 4001}), ("ok", {}), ("ok", {"value": 3})]:
        r = await http.put(memory_url(tenant, "coder", f"/core/{key}"), headers=admin, json=body)
        assert r.status_code == 422, (key, body, r.text)
    r = await http.get(memory_url(tenant, "coder"), headers=admin, params={"type": "secret"})
    assert r.status_code == 422
    r = await http.delete(memory_url(tenant, "coder", "/0"), headers=admin)
    assert r.status_code == 422
    r = await http.delete(memory_url(tenant, "coder", f"/{2**63}"), headers=admin)
    assert r.status_code == 422
    for path, error in [(memory_url(tenant, "nobody"), "unknown_agent"),
                        (memory_url("t-nosuchtenant", "coder"), "unknown_tenant")]:
        r = await http.get(path, headers=admin)
        assert r.status_code == 404 and r.json()["error"] == error
        r = await http.put(f"{path}/core/k", headers=admin, json={"value": "v"})
        assert r.status_code == 404 and r.json()["error"] == error


async def test_memory_never_crosses_tenants(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    pool: asyncpg.Pool, minilm: OnnxMiniLMEmbedder,
) -> None:
    a, b = await make_tenant(agents=("coder",)), await make_tenant(agents=("coder",))
    secret_fact = await set_core(pool, a, "coder", "vpn_password_hint", "the blue one", by="x")
    a_episode = await add_episodic(pool, a, "coder", LOGIN, "s-a", embedder=minilm)
    await set_core(pool, b, "coder", "deploy_day", "Monday", by="x")

    b_admin = await _as(http, admin, b, "admin")
    for method, path, body in [
            ("GET", memory_url(a, "coder"), None),
            ("PUT", memory_url(a, "coder", "/core/k"), {"value": "v"}),
            ("DELETE", memory_url(a, "coder", f"/{secret_fact.id}"), None)]:
        r = await http.request(method, path, headers=b_admin, json=body)
        assert r.status_code == 404 and r.json()["error"] == "unknown_tenant", (method, r.text)
    for memory_id in (secret_fact.id, a_episode):  # A's ids through B's own agent
        r = await http.delete(memory_url(b, "coder", f"/{memory_id}"), headers=b_admin)
        assert r.status_code == 404 and r.json()["error"] == "unknown_memory"
    assert len(await listed(http, admin, a, "coder")) == 2  # A's memory untouched
    assert [m["key"] for m in await listed(http, b_admin, b, "coder")] == ["deploy_day"]

    # Recall for B's agent of the same id, with A's summary as the perfect match: only B's
    recalled = await recall(pool, minilm, b, "coder", "Safari login timeout session cookie", 1000)
    assert [(m.type, m.key, m.text) for m in recalled] == [("core", "deploy_day", "Monday")]


async def test_recall_puts_core_facts_first_then_similar_episodes_within_budget(
    make_tenant: TenantFactory, pool: asyncpg.Pool, minilm: OnnxMiniLMEmbedder,
) -> None:
    tenant = await make_tenant(agents=("coder",))
    await set_core(pool, tenant, "coder", "repo", "acme/web", by="agent")
    await set_core(pool, tenant, "coder", "deploy_day", "Thursday", by="agent")
    ids = {text: await add_episodic(pool, tenant, "coder", text, f"s{i}")  # no vector yet
           for i, text in enumerate([LUNCH, LOGIN, BILLING])}
    query = "Users report the login page times out on Safari again"

    everything = await recall(pool, minilm, tenant, "coder", query, 10_000)
    assert [(m.type, m.key) for m in everything[:2]] == [("core", "deploy_day"), ("core", "repo")]
    assert everything[2].text == LOGIN  # the most similar summary first
    assert sorted(m.id for m in everything[2:]) == sorted(ids.values())
    assert await pool.fetchval(  # the summaries written without a vector got one
        "SELECT count(*) FROM agent_memory WHERE tenant_id = $1 AND embedding IS NULL",
        tenant) == 2  # (the two core facts, never searched by similarity)

    core_tokens = sum(m.tokens for m in everything[:2])
    login_tokens = everything[2].tokens
    budget = core_tokens + login_tokens + 5  # room for the best summary only
    tight = await recall(pool, minilm, tenant, "coder", query, budget)
    assert [m.text for m in tight][2:] == [LOGIN]
    assert sum(m.tokens for m in tight) <= budget
    only_core = await recall(pool, minilm, tenant, "coder", query, core_tokens)
    assert [m.type for m in only_core] == ["core", "core"]
    assert [m.type for m in await recall(pool, None, tenant, "coder", query, 10_000)] == [
        "core", "core"]  # no embedder: no episodic search
    assert await recall(pool, minilm, tenant, "coder", query, 0) == []


async def test_the_remember_intent_writes_a_core_fact_through_the_gateway(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    pool: asyncpg.Pool, settings: Settings,
) -> None:
    tenant = await make_tenant(agents=("coder", "other"))
    gateway = GatewayActivities(Gateway(pool, build_secret_store(settings, pool),
                                        settings.gateway, builtin_intents()))

    def call(key: str, value: str, agent: str = "coder", idem: str | None = None
             ) -> GatewayCall:
        return GatewayCall(tenant_id=tenant, agent_id=agent,
                           idempotency_key=idem or f"run/m/{uuid.uuid4()}",
                           call=ToolCall(id="c1", name="memory_remember", target="gateway",
                                         arguments={"key": key, "value": value}))

    refused = await ActivityEnvironment().run(gateway.gateway_execute,
                                              call("prefs.language", "British English"))
    assert refused.is_error and "no grant" in refused.content  # default deny, like every intent
    await grant(http, admin, tenant, "coder", "memory_remember", "prefs.*")
    done = await ActivityEnvironment().run(gateway.gateway_execute,
                                           call("prefs.language", "British English", idem="k1"))
    assert not done.is_error, done.content
    again = await ActivityEnvironment().run(gateway.gateway_execute,
                                            call("prefs.language", "British English", idem="k1"))
    assert not again.is_error
    outside = await ActivityEnvironment().run(gateway.gateway_execute, call("repo", "acme/x"))
    assert outside.is_error and "no grant" in outside.content
    invalid = await ActivityEnvironment().run(gateway.gateway_execute, call("prefs. x", "v"))
    assert invalid.is_error and "invalid arguments" in invalid.content

    [fact] = await listed(http, admin, tenant, "coder")
    assert (fact["key"], fact["value"], fact["written_by"]) == (
        "prefs.language", "British English", "agent")
    assert await listed(http, admin, tenant, "other") == []  # its own memory only


class RecordingRuntime:
    """The real agent runtime's think, recording each input it was given."""

    def __init__(self, runtime: AgentRuntime) -> None:
        self.runtime = runtime
        self.seen: list[ThinkInput] = []

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Record, then think as the runtime does."""
        self.seen.append(inp)
        return await self.runtime.think(inp)


async def test_the_agent_remembers_and_its_next_think_and_prompt_carry_the_memory(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, pool: asyncpg.Pool,
) -> None:
    agent = f"mem-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    await grant(http, admin, tenant, agent, "memory_remember", "*")
    channel = f"C{uuid.uuid4().hex[:8].upper()}"

    # First message: the agent remembers a fact through the gateway
    llm = ScriptedLLM([
        {"tool_calls": [{"name": "memory_remember",
                         "arguments": {"key": "deploy_day", "value": "Thursday"}}]},
        {"content": "Noted: deploys are on Thursdays."}])
    first = RecordingRuntime(AgentRuntime(agent, llm=llm))
    async with running(agent_worker(temporal_client, tenant, agent, first.think)):
        sent = await slack_message(http, tenant, channel, "We deploy on Thursdays from now on",
                                   "1700000000.000100")
        event = await wait_status(http, admin, tenant, sent["inbox_id"], {"dispatched"}, 1,
                                  within=60)
    assert event["outcomes"][0]["status"] == "answered", event
    assert first.seen[0].memory == []  # nothing remembered yet
    assert "memory_remember" in {t.name for t in first.seen[0].gateway_tools}
    [fact] = await listed(http, admin, tenant, agent, "core")
    assert (fact["key"], fact["value"], fact["written_by"]) == ("deploy_day", "Thursday", "agent")

    # A session closed meanwhile left a summary; the next message recalls both
    await add_episodic(pool, tenant, agent, LOGIN, "session-1")
    await add_episodic(pool, tenant, agent, LUNCH, "session-2")
    llm = ScriptedLLM([{"content": "On it."}])
    second = RecordingRuntime(AgentRuntime(agent, llm=llm))
    async with running(agent_worker(temporal_client, tenant, agent, second.think)):
        sent = await slack_message(http, tenant, channel,
                                   "The Safari login times out again, can you look?",
                                   "1700000100.000100")
        await wait_status(http, admin, tenant, sent["inbox_id"], {"dispatched"}, 1, within=60)
    [think] = second.seen
    assert [(m.type, m.key, m.text) for m in think.memory[:2]] == [
        ("core", "deploy_day", "Thursday"), ("episodic", None, LOGIN)]
    [(messages, _)] = llm.requests
    system = messages[0]["content"]
    assert "Core facts:\n- deploy_day: Thursday" in system
    assert f"From earlier sessions:\n- {LOGIN}" in system
    assert system.index("Core facts") < system.index("From earlier sessions")


async def test_an_events_text_is_embedded_once_for_its_context_and_every_agents_memory(
    make_tenant: TenantFactory, pool: asyncpg.Pool, minilm: OnnxMiniLMEmbedder,
) -> None:
    """Two agents whose sessions left episodes, and a tenant with documents: the dispatch plan
    searches the context and recalls both agents' episodes by one embedding of the event's
    text (it took three: one each, computed at the same time)."""
    tenant = await make_tenant(agents=("coder", "reviewer"), default_agents=("coder", "reviewer"))
    for agent in ("coder", "reviewer"):
        await add_episodic(pool, tenant, agent, LOGIN, f"{agent}-1", embedder=minilm)
    counting = CountingEmbedder(minilm)
    store = KnowledgeStore(pool, counting, ContextSettings())
    await store.add_document(tenant, None, "document", "runbook", "Login runbook", None,
                             "When Safari logins time out, check the session cookie flags.")
    counting.texts.clear()
    context = ContextActivities(pool, store, build_summarizer(ContextSettings(), counting))
    events = EventActivities(pool, Resolver(pool, builtin_intents(), "gateway"), context)
    text = "The Safari login times out again, can you look?"
    event = StandardEvent(tenant_id=tenant, provider=Provider.GITHUB, source_event="issues.opened",
                          kind=EventKind.NEW_WORK_ITEM, title="Safari login", text=text,
                          actor=Actor(id="octocat"))

    plan = await events.plan_event(PlanInput(event=event, context_tokens=2000))

    assert sorted(a.agent_id for a in plan.resolved.agents) == ["coder", "reviewer"]
    assert all([m.text for m in a.memory] == [LOGIN] for a in plan.resolved.agents)
    assert [i.title for i in plan.context.items] == ["Login runbook"]
    assert counting.texts == [f"Safari login\n{text}"]
