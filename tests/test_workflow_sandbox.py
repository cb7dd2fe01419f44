"""The SDK's strict sandbox is our determinism check, even though the platform worker runs
workflows without it (for speed; see workers/platform.py).

Every platform workflow must load under it, the replay tests (tests/test_pipeline.py,
tests/test_agent_loop.py) replay real histories under it, and it does refuse a clock read.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tests.harness import running
from tests.sandbox_workflow import ReadsTheClock
from workers.platform import WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.__name__)
async def test_platform_workflow_loads_under_the_strict_sandbox(workflow: type) -> None:
    SandboxedWorkflowRunner().prepare_workflow(workflow.__temporal_workflow_definition)  # type: ignore[attr-defined]


async def test_the_strict_sandbox_refuses_a_clock_read(temporal_client: Client) -> None:
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    worker = Worker(temporal_client, task_queue=queue, workflows=[ReadsTheClock],
                    workflow_runner=SandboxedWorkflowRunner(),
                    workflow_failure_exception_types=[Exception])
    async with running(worker):
        with pytest.raises(WorkflowFailureError) as failure:
            await temporal_client.execute_workflow(
                ReadsTheClock.run, id=f"sandbox-{uuid.uuid4()}", task_queue=queue,
                execution_timeout=timedelta(seconds=20))
    assert "datetime.datetime.now" in str(failure.value.cause)
