"""``switchboard agents run ID --goal ...`` in its own process against the real API and Temporal:
it waits for the demo agent's answer, printing its progress (a refusal is one line, as for every
API command: cli/api_client.py's handler, tested with switchboard events)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from tests.conftest import TenantFactory
from tests.harness import running
from tests.test_cli_events import _cli
from workers.agent import agent_worker
from workers.runtime.demo import DEMO_LABEL


async def test_agents_run_waits_and_prints_the_answer(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, tmp_path: Path,
) -> None:
    agent = f"cli-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,))
    token = admin["Authorization"].removeprefix("Bearer ")
    api = str(http.base_url).rstrip("/")
    async with running(agent_worker(temporal_client, tenant, agent)):
        code, out, err = await _cli(tmp_path, "agents", "run", agent, "--goal", "tidy the board",
                                    "--context", '{"board": "Q4"}', "--tenant", tenant,
                                    "--api", api, admin_token=token)
    assert code == 0, err
    assert out.startswith(DEMO_LABEL) and "'tidy the board'" in out
    assert f"started run/{tenant}/manual/" in err and "turn 1: thinking" in err
    assert "status: answered" in err
