"""The stack the pipeline benchmarks drive: a Temporal dev server, the API with its relay in its
own process, the platform worker and one bench agent's worker in this one, and a tenant whose
default agent it is. Every delivery posted is a new GitHub issue (its own thread and session).

Scaled out (issue #17, item 4): several API processes, each with its relay, and several
platform worker processes on the same queue, against the same Temporal server and database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from infra import codec, database, tracing
from infra.embedded import temporal_binary, temporal_tuning_args
from infra.settings import GatewaySettings, PayloadSettings, TracingSettings
from tests.bench.fixtures import NewIssues, create_tenant, server_env, set_debounce
from tests.bench.serve import Served, served, stop
from tests.harness import free_port, running
from workers.platform import platform_worker
from workflows import search
from workflows.ids import agent_task_queue


async def temporal(db_file: str | None = None) -> WorkflowEnvironment:
    """A Temporal dev server from the installed binary, configured as ``switchboard up`` does.

    In memory unless ``db_file`` names a SQLite file, as ``up`` gives it: the spike keeps tens
    of thousands of workflows, more than the in-memory database stood here (it crashed once).

    Its client seals payloads when ``SWITCHBOARD_PAYLOAD_KEYS`` is set and traces when the
    ``OTEL_*`` variables name an exporter, as the API processes the benches start (they inherit
    this environment) do: that is how a bench measures the codec's and tracing's overhead
    (README, "Payload encryption", "Traces").
    """
    tracing.configure(TracingSettings(), "switchboard-bench")
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()),
        dev_server_extra_args=temporal_tuning_args(pragmas=db_file is not None),
        dev_server_database_filename=db_file,
        data_converter=codec.data_converter(PayloadSettings()), search_attributes=search.ALL,
        interceptors=tracing.client_interceptors(),
    )


def bench_agent_id() -> str:
    """A fresh agent id for one benchmark."""
    return f"bench-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Stack:
    """A running stack and what a benchmark posts to it."""

    api: Served
    http: httpx.AsyncClient
    tenant: str
    agent_id: str
    path: str
    issues: NewIssues
    admin_token: str
    worker_pid: int | None = None  # the platform worker's process, when not this one
    apis: tuple[Served, ...] = ()  # every API process (the first is ``api``)
    clients: tuple[httpx.AsyncClient, ...] = ()  # one per API, in that order (``http`` first)
    worker_pids: tuple[int, ...] = ()  # every platform worker process, when not this one

    async def debounce(self, debounce_ms: int) -> int:
        """Set the agent's ``session_debounce_ms`` (admin API); the value it had."""
        return await set_debounce(self.api.url, self.admin_token, self.tenant, [self.agent_id],
                                  debounce_ms)


@contextlib.asynccontextmanager
async def dispatching_stack(client: Client, db_url: str, agent_id: str,
                            think: Callable[..., Any], *, api_env: dict[str, str] | None = None,
                            worker_process: bool = False, apis: int = 1, workers: int = 1,
                            **http_options: Any) -> AsyncIterator[Stack]:
    """The stack, with ``think`` as agent ``agent_id``'s think activity on its own queue
    (``api_env``: more environment for the API and worker processes; ``worker_process``: the
    platform worker runs as ``switchboard worker`` in its own process instead of in this one).

    ``apis`` API processes (each with its relay, started one after the other so that one
    applies the migrations) and ``workers`` platform worker processes (``worker_process``
    only), all on the same platform queue; with workers in their own processes, the stack is
    handed over once each of them polls that queue.
    """
    if workers > 1 and not worker_process:
        raise ValueError("several platform workers run only in their own processes")
    queue = f"bench-platform-{uuid.uuid4().hex[:8]}"
    senv = server_env(db_url) | {"TEMPORAL_ADDRESS": client.service_client.config.target_host,
                                 "TEMPORAL_TASK_QUEUE": queue} | (api_env or {})
    tenant = f"bench-{uuid.uuid4().hex[:10]}"
    pool = await database.create_pool(db_url)
    try:
        async with contextlib.AsyncExitStack() as stack:
            servers = [await stack.enter_async_context(
                served("app", free_port(), senv, relay=True)) for _ in range(apis)]
            if worker_process:
                pids = [await stack.enter_async_context(platform_process(senv))
                        for _ in range(workers)]
                await polled(client, queue, pids)
            else:
                pids = []
                await stack.enter_async_context(running(platform_worker(
                    client, pool, queue, gateway_queue=GatewaySettings().task_queue)))
            await stack.enter_async_context(running(Worker(
                client, task_queue=agent_task_queue(tenant, agent_id), activities=[think])))
            clients = [await stack.enter_async_context(httpx.AsyncClient(
                base_url=api.url, timeout=30, **http_options)) for api in servers]
            await create_tenant(servers[0].url, senv["SWITCHBOARD_ADMIN_TOKEN"],
                                agents=[agent_id], default=True, tenant=tenant)
            yield Stack(servers[0], clients[0], tenant, agent_id, f"/webhooks/github/{tenant}",
                        NewIssues(), senv["SWITCHBOARD_ADMIN_TOKEN"],
                        pids[0] if pids else None, tuple(servers), tuple(clients), tuple(pids))
    finally:
        await pool.close()


async def polled(client: Client, queue: str, pids: list[int], within: float = 60.0) -> None:
    """Wait until each of these processes polls ``queue`` for workflow and activity tasks (a
    worker's identity is ``pid@host``), so that a measurement starts with all of them."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    wanted = {str(pid) for pid in pids}
    kinds = (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
    while True:
        seen = []
        for kind in kinds:
            answer = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
                namespace=client.namespace, task_queue=TaskQueue(name=queue),
                task_queue_type=kind))
            seen.append({p.identity.split("@", 1)[0] for p in answer.pollers})
        if all(wanted <= s for s in seen):
            return
        if loop.time() > deadline:
            raise RuntimeError(f"platform workers {sorted(wanted)} not all polling {queue}"
                               f" within {within:g} s (seen: {seen})")
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def platform_process(env: dict[str, str]) -> AsyncIterator[int]:
    """``switchboard worker`` (platform, gateway and control workers) in its own process, as a
    deployment runs it; yields its pid. Its output goes to a temporary file, kept (and named)
    only if the worker exited before the stack was done."""
    with tempfile.NamedTemporaryFile(prefix="bench-platform-worker-", suffix=".log",
                                     delete=False) as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cli", "worker", env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        yield proc.pid
    finally:
        early = proc.returncode is not None
        if early:
            print(f"  platform worker exited with {proc.returncode}; its output: {log.name}")
        await stop(proc)
        if not early:
            os.unlink(log.name)
