"""The platform worker's sandbox still refuses non-deterministic calls in workflow code."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tests.harness import running
from tests.sandbox_workflow import ReadsTheClock
from workers.platform import SANDBOX


async def test_wall_clock_in_a_workflow_is_refused(temporal_client: Client) -> None:
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    worker = Worker(temporal_client, task_queue=queue, workflows=[ReadsTheClock],
                    workflow_runner=SandboxedWorkflowRunner(restrictions=SANDBOX),
                    workflow_failure_exception_types=[Exception])
    async with running(worker):
        with pytest.raises(WorkflowFailureError) as failure:
            await temporal_client.execute_workflow(
                ReadsTheClock.run, id=f"sandbox-{uuid.uuid4()}", task_queue=queue,
                execution_timeout=timedelta(seconds=20))
    assert "datetime.datetime.now" in str(failure.value.cause)
