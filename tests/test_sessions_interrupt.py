"""Under ``interrupt`` a message mid-think cancels the running think promptly (issue #14 part
2): the agent's worker hears the cancellation within about a second, not at its next heartbeat
to the server (Temporal throttles those to 80% of the 10 s heartbeat timeout)."""

from __future__ import annotations

import asyncio
import time

import httpx
from temporalio import activity
from temporalio.client import Client

from tests.conftest import TenantFactory
from tests.harness import running
from tests.test_pipeline import wait_status
from tests.test_sessions import ROOT, HeldAgent, make_agent, post_slack
from workers.agent import agent_worker
from workflows.contracts import ThinkInput, ThinkOutput
from workflows.names import THINK_ACTIVITY


class TimedAgent(HeldAgent):
    """A held think that notes when it started and when it heard it was cancelled."""

    def __init__(self, agent_id: str) -> None:
        super().__init__(agent_id)
        self.started: list[float] = []
        self.cancelled_at: list[float] = []

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """As HeldAgent's, with the times."""
        self.started.append(time.monotonic())
        try:
            return await HeldAgent.think(self, inp)
        except asyncio.CancelledError:
            self.cancelled_at.append(time.monotonic())
            raise


async def test_an_interrupting_message_cancels_the_running_think_within_a_second_or_two(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    tenant, agent = await make_agent(http, admin, make_tenant, session_policy="interrupt")
    brain = TimedAgent(agent)
    brain.hold.clear()
    async with running(agent_worker(temporal_client, tenant, agent, brain.think)):
        first = await post_slack(http, tenant, "draft the announcement", ROOT)
        await brain.wait_for(1)
        sent = time.monotonic()
        await post_slack(http, tenant, "make it short", "1700000050.1", ROOT)
        await brain.wait_for(2)
        async with asyncio.timeout(15):
            while not brain.cancelled_at:
                await asyncio.sleep(0.02)
        brain.hold.set()
        await wait_status(http, admin, tenant, first, {"dispatched"}, 1)
    restarted, heard = brain.started[1] - sent, brain.cancelled_at[0] - sent
    print(f"\ninterrupt: message posted -> restarted think {restarted * 1000:.0f} ms,"
          f" -> old think cancelled {heard * 1000:.0f} ms")
    assert brain.cancelled == 1
    assert heard < 3.0
