"""JSON logs: one object a line, carrying tenant, delivery, workflow, run and request ids."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from infra.observability import logs
from infra.settings import Settings
from tests import corpus
from tests.api.test_replay import ISSUE
from tests.conftest import TenantFactory
from tests.harness import free_port, payload_env


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What the root logger writes as JSON lines while the test runs (request lines included)."""
    out = io.StringIO()
    handler = logs.handler("json", out)
    root, request_log = logging.getLogger(), logging.getLogger("switchboard.request")
    old_level = request_log.level
    root.addHandler(handler)
    request_log.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        request_log.setLevel(old_level)


def lines(out: io.StringIO) -> list[dict[str, str]]:
    """Each line parsed as one JSON object (fails on any line that is not)."""
    parsed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert all(isinstance(p, dict) for p in parsed)
    return parsed


async def test_a_webhook_request_logs_its_request_tenant_delivery_and_workflow_ids(
        http: httpx.AsyncClient, settings: Settings, make_tenant: TenantFactory,
        captured: io.StringIO) -> None:
    tenant = await make_tenant()
    raw, headers = corpus.live_request(ISSUE)
    delivery = str(uuid.uuid4())
    request_id = f"req-{uuid.uuid4().hex[:8]}"
    raw_headers = {**headers, "X-GitHub-Delivery": delivery, "X-Request-ID": request_id}
    r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=raw_headers)
    assert r.status_code == 202, r.text
    assert r.headers["X-Request-ID"] == request_id
    generated = await http.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    fresh = generated.headers["X-Request-ID"]  # refused as given: a fresh one instead
    assert len(fresh) == 24 and int(fresh, 16) >= 0
    again = (await http.get("/healthz")).headers["X-Request-ID"]
    assert again != fresh and again[:16] == fresh[:16]  # this process's prefix, a new count
    parsed = lines(captured)
    [line] = [p for p in parsed if p.get("request_id") == request_id]
    assert line["tenant"] == tenant and line["delivery"] == delivery
    assert line["workflow_id"] == f"event/{tenant}/github/{delivery}"
    assert line["level"] == "DEBUG" and "answered 202" in line["message"]
    text = captured.getvalue()
    assert settings.admin_token is not None
    for secret in (corpus.secret("github"), settings.admin_token.get_secret_value()):
        assert secret not in text


def test_an_activity_logs_its_workflow_and_run_ids_and_the_tenant_they_name() -> None:
    out = io.StringIO()
    log = logging.getLogger("tests.activity")
    log.addHandler(logs.handler("json", out))
    log.setLevel(logging.INFO)

    @activity.defn(name="log_something")
    async def log_something() -> None:
        log.info("normalizing")

    env = ActivityEnvironment()
    env.info = activity.Info(**{
        **env.info.__dict__, "workflow_id": "run/acme/github/d-42/triager",
        "workflow_run_id": "3f6c0d5e-run"})
    try:
        asyncio.run(env.run(log_something))
    finally:
        log.handlers.clear()
    parsed = lines(out)
    [line] = parsed
    assert (line["tenant"], line["delivery"], line["workflow_id"], line["run_id"]) == (
        "acme", "d-42", "run/acme/github/d-42/triager", "3f6c0d5e-run")


def test_text_stays_the_default_and_appends_the_ids() -> None:
    assert Settings().observability.log_format == "text"
    out = io.StringIO()
    log = logging.getLogger("tests.text")
    log.addHandler(logs.handler("text", out))
    log.setLevel(logging.INFO)
    try:
        env = ActivityEnvironment()
        env.info = activity.Info(**{**env.info.__dict__, "workflow_id": "event/acme/slack/Ev1",
                                    "workflow_run_id": "r-1"})
        asyncio.run(env.run(activity.defn(name="say")(_say), log))
    finally:
        log.handlers.clear()
    line = out.getvalue().strip()
    assert line.endswith("INFO tests.text: hello tenant=acme delivery=Ev1 "
                         "workflow_id=event/acme/slack/Ev1 run_id=r-1"), line


async def _say(log: logging.Logger) -> None:
    log.info("hello")


async def test_switchboard_api_with_log_format_json_writes_only_json_lines(
        settings: Settings) -> None:
    assert settings.admin_token is not None and settings.master_key is not None
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")},
           "DATABASE_URL": str(settings.database.url),
           "TEMPORAL_ADDRESS": settings.temporal.address,
           "TEMPORAL_TASK_QUEUE": settings.temporal.task_queue,
           "SWITCHBOARD_ADMIN_TOKEN": settings.admin_token.get_secret_value(),
           "SWITCHBOARD_MASTER_KEY": settings.master_key.get_secret_value(),
           "SWITCHBOARD_DEV_MODE": "true", "SWITCHBOARD_LOG_FORMAT": "json",
           "SWITCHBOARD_LOG_LEVEL": "DEBUG", **payload_env()}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", "api", "--port", str(port), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http, \
                asyncio.timeout(60):
            while True:
                try:
                    if (await http.get("/healthz", headers={"X-Request-ID": "probe-1"})
                            ).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    parsed = [json.loads(line) for line in err.decode().splitlines()]
    assert any(p["logger"].startswith("uvicorn") for p in parsed)  # the server's own lines
    assert any(p.get("request_id") == "probe-1" for p in parsed)
    assert settings.admin_token.get_secret_value() not in err.decode()


@workflow.defn(name="LogsTestWorkflow")
class _Logging:
    """Logs one line through the SDK's workflow logger."""

    @workflow.run
    async def run(self) -> None:
        """Say something."""
        workflow.logger.info("routing")


async def test_a_workflow_logs_its_workflow_and_run_ids(temporal_client: Client) -> None:
    out = io.StringIO()
    log = logging.getLogger("temporalio.workflow")
    handler, old_level = logs.handler("json", out), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    queue = f"logs-{uuid.uuid4().hex[:8]}"
    workflow_id = f"event/acme/slack/Ev{uuid.uuid4().hex[:8]}"
    try:
        async with Worker(temporal_client, task_queue=queue, workflows=[_Logging],
                          workflow_runner=UnsandboxedWorkflowRunner()):
            handle = await temporal_client.start_workflow(_Logging.run, id=workflow_id,
                                                          task_queue=queue)
            await handle.result()
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
    [line] = [p for p in lines(out) if p.get("workflow_id") == workflow_id]
    assert line["message"].startswith("routing")
    assert (line["tenant"], line["delivery"], line["run_id"]) == (
        "acme", workflow_id.rsplit("/", 1)[1], handle.result_run_id)
