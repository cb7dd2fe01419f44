"""The Temporal SDK's own worker metrics, served in Prometheus format by a worker process
(``SWITCHBOARD_WORKER_METRICS_ADDRESS``)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from temporalio import workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from infra import temporal
from infra.settings import Settings, WorkerMetricsSettings
from tests.harness import free_port, running


@workflow.defn(name="MetricsProbe")
class MetricsProbe:
    """A workflow that completes at once."""

    @workflow.run
    async def run(self) -> str:
        """Done."""
        return "done"


def test_worker_metrics_are_off_unless_an_address_is_set() -> None:
    assert temporal.worker_runtime(WorkerMetricsSettings()) is None


async def test_a_worker_serves_the_sdks_metrics_in_prometheus_format(settings: Settings) -> None:
    address = f"127.0.0.1:{free_port()}"
    runtime = temporal.worker_runtime(WorkerMetricsSettings(address=address))
    client = await temporal.connect(settings.temporal, runtime=runtime)
    queue = f"metrics-{uuid.uuid4().hex[:8]}"
    async with running(Worker(client, task_queue=queue, workflows=[MetricsProbe],
                              workflow_runner=UnsandboxedWorkflowRunner())), \
            httpx.AsyncClient(timeout=5) as http:
        assert await client.execute_workflow(
            MetricsProbe.run, id=f"metrics-probe-{uuid.uuid4().hex}", task_queue=queue) == "done"
        async with asyncio.timeout(20):  # the SDK updates its counters as the task completes
            while True:
                text = (await http.get(f"http://{address}/metrics")).text
                if f'task_queue="{queue}"' in text and "temporal_workflow_completed" in text:
                    break
                await asyncio.sleep(0.1)
    assert "# TYPE temporal_workflow_task_schedule_to_start_latency" in text
