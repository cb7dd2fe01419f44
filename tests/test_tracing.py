"""Traces: one delivery's spans form one tree, from the webhook request through the relay, the
workflows and activities to its agent's think and the LLM call inside it.

The stack here is its own (database, API with relay, platform and agent workers on fresh queues)
so that every process part is built after tracing is on, as in a traced deployment; the spans go
to an in-memory exporter, which is removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client

from infra import database, temporal, tracing
from infra.settings import GatewaySettings, Settings, TracingSettings
from infra.vault import build_secret_store
from tests import corpus
from tests.admin import agent_token, bearer
from tests.fakes.openai_server import FakeOpenAI
from tests.harness import api_server, make_settings, migrated_database, running
from workers.agent import runtime_worker
from workers.platform import platform_workers
from workers.runtime.agent import AgentRuntime
from workers.runtime.openai_llm import OpenAILLM
from workers.runtime.skills import SkillRegistry
from workflows.ids import event_workflow_id
from workflows.names import THINK_ACTIVITY

LLM_KEY = f"sk-trace-{uuid.uuid4().hex}"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, into memory, for this test only."""
    exporter = InMemorySpanExporter()
    assert tracing.configure(TracingSettings(), "switchboard-test", exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.shutdown()


@contextlib.asynccontextmanager
async def traced_stack(pg_url: str, client: Client, session: Settings) -> AsyncIterator[
        tuple[Settings, Client, str]]:
    """Own database, traced Temporal client, platform workers and API; yields them."""
    db_url = await migrated_database(pg_url, f"tracing_{uuid.uuid4().hex[:8]}")
    address = client.service_client.config.target_host
    settings = make_settings(db_url, address, f"traced-{uuid.uuid4().hex[:8]}")
    settings.gateway = GatewaySettings(**(session.gateway.model_dump() | {
        "task_queue": f"traced-gw-{uuid.uuid4().hex[:8]}"}))
    traced = await temporal.connect(settings.temporal)
    pool = await database.create_pool(db_url)
    try:
        async with contextlib.AsyncExitStack() as stack:
            for worker in platform_workers(traced, pool, settings,
                                           build_secret_store(settings, pool)):
                await stack.enter_async_context(running(worker))
            url = await stack.enter_async_context(api_server(settings))
            yield settings, traced, url
    finally:
        await pool.close()


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


async def test_a_trace_links_the_webhook_to_its_agents_think_and_llm_call(
    spans: InMemorySpanExporter, pg_url: str, temporal_client: Client, settings: Settings,
) -> None:
    agent = f"traced-{uuid.uuid4().hex[:6]}"
    with FakeOpenAI() as fake:
        fake.answer("Looking into it.", prompt_tokens=321, completion_tokens=12)
        llm = OpenAILLM(model="gpt-trace", api_key=LLM_KEY, base_url=fake.base_url, timeout=10)
        runtime = AgentRuntime(agent, llm, SkillRegistry())
        async with traced_stack(pg_url, temporal_client, settings) as (mine, client, url), \
                httpx.AsyncClient(base_url=url, timeout=30) as http:
            assert mine.admin_token is not None
            admin = {"Authorization": f"Bearer {mine.admin_token.get_secret_value()}"}
            tenant = f"t-{uuid.uuid4().hex[:12]}"
            r = await http.post("/admin/tenants", headers=admin, json={
                "id": tenant, "name": tenant, "default_agents": [agent]})
            assert r.status_code == 201, r.text
            r = await http.put(f"/admin/tenants/{tenant}/integrations/github", headers=admin,
                               json={"secret": corpus.secret("github")})
            assert r.status_code == 204, r.text
            r = await http.post(f"/admin/tenants/{tenant}/agents", headers=admin,
                                json={"id": agent, "name": agent})
            assert r.status_code == 201, r.text
            entry = corpus.entry("github.issues.opened")
            raw = corpus.body(entry)
            delivery = str(uuid.uuid4())
            headers = (dict(entry["headers"]) | corpus.github_sign(raw, corpus.secret("github"))
                       | {"X-GitHub-Delivery": delivery})
            async with running(runtime_worker(client, tenant, runtime)):
                r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
                assert r.status_code == 202, r.text
                async with asyncio.timeout(30):
                    while not any(s.name == f"RunActivity:{THINK_ACTIVITY}"
                                  for s in spans.get_finished_spans()):
                        await asyncio.sleep(0.05)
            await llm.aclose()
            token = await agent_token(http, admin, tenant, agent)  # an intent it holds no grant for
            r = await http.post("/gateway/execute", headers=bearer(token) | {
                "Idempotency-Key": uuid.uuid4().hex}, json={"intent": "github_comment", "args": {
                    "repo": "acme/docs", "number": 1, "body": "zq-tool-argument"}})
            assert r.status_code == 403, r.text

    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}
    event_id = event_workflow_id(tenant, "github", delivery)
    [webhook] = [s for s in finished if s.name == "POST /webhooks/{provider}/{tenant}"
                 and _attrs(s).get("switchboard.workflow_id") == event_id]
    assert _attrs(webhook)["http.response.status_code"] == 202
    [think] = [s for s in finished if s.name == f"RunActivity:{THINK_ACTIVITY}"]
    chain = _ancestors(think, by_id)
    assert think.context.trace_id == webhook.context.trace_id
    assert chain[-1] is webhook, [s.name for s in chain]  # one unbroken tree, rooted at the POST
    assert "StartWorkflow:EventWorkflow" in [s.name for s in chain]  # the relay's start
    in_trace = {s.name for s in finished if s.context.trace_id == webhook.context.trace_id}
    assert {"RunWorkflow:EventWorkflow", "RunWorkflow:AgentRunWorkflow",
            "RunActivity:prepare_event"} <= in_trace

    [chat] = [s for s in finished if s.name == "chat gpt-trace"]
    assert chat.parent is not None and chat.parent.span_id == think.context.span_id
    assert _attrs(chat).items() >= {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-trace",
        "gen_ai.response.model": "fake-model", "gen_ai.usage.input_tokens": 321,
        "gen_ai.usage.output_tokens": 12}.items()
    [tool] = [s for s in finished if s.name == "execute_tool github_comment"]
    assert _attrs(tool).items() >= {"gen_ai.operation.name": "execute_tool",
                                    "gen_ai.agent.id": agent, "switchboard.outcome": "denied",
                                    "switchboard.tenant": tenant}.items()
    every = json.dumps([_attrs(s) for s in finished], default=str)
    assert LLM_KEY not in every and "Looking into it." not in every
    assert "zq-tool-argument" not in every
    assert str(json.loads(raw)["issue"]["body"])[:40] not in every


def _attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})
