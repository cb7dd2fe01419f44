"""The throughput bench's floor (tests/bench/skeleton.py) takes the Temporal steps a real event
takes: its figure says what today's layout allows only while that holds (README, "Throughput").
"""

from __future__ import annotations

import os
import uuid
from collections import Counter

import httpx
from temporalio.client import Client

from tests.bench.costs import CpuMeter, event_costs
from tests.bench.fixtures import NewIssues
from tests.bench.skeleton import skeleton
from tests.conftest import TenantFactory
from tests.harness import RecordingAgent, running
from tests.test_pipeline import wait_status
from tests.test_sessions import make_agent
from workers.agent import agent_worker
from workflows.ids import run_workflow_id

SIZE = "history kB"  # the skeleton's steps are empty: only their size differs


async def test_the_floor_takes_the_steps_a_new_issue_takes(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    # the agent as the pipeline bench's: every event to it, no debounce window
    tenant, agent_id = await make_agent(http, admin, make_tenant, session_debounce_ms=0)
    agent = RecordingAgent(agent_id)
    async with running(agent_worker(temporal_client, tenant, agent_id, agent.think)):
        headers, body = NewIssues().signed(str(uuid.uuid4()))
        r = await http.post(f"/webhooks/github/{tenant}", content=body, headers=headers)
        assert r.status_code == 202, r.text
        await agent.wait_for(1)
        await wait_status(http, admin, tenant, r.json()["inbox_id"], {"dispatched"}, 1)
    event_id = r.json()["workflow_id"]
    per_type, _ = await event_costs(temporal_client, [event_id],
                                    [run_workflow_id(event_id, agent_id)])
    real = sum(per_type.values(), Counter())

    cpu = CpuMeter({"test": os.getpid()}, own="test")
    _, _, floor = await skeleton(temporal_client, 2, 1, cpu, tenant)

    assert set(per_type) == {"EventWorkflow", "SessionWorkflow", "AgentRunWorkflow"}
    assert real["workflows"] == 3 and real["activity tasks"] == 1
    assert {k: v for k, v in floor.items() if k != SIZE} == \
        {k: v for k, v in real.items() if k != SIZE}
