"""A workflow started at a version newer than the worker's code (a rolling deploy: a new process
started it, an old one took its task) fails its workflow task instead of running the old steps:
the run stays open for a worker that knows the version, and its history holds no command the
new code could not replay."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from infra.settings import Settings
from tests.conftest import Platform
from workflows.contracts import (
    EVENT_VERSION,
    RUN_VERSION,
    SESSION_VERSION,
    AgentRunInput,
    AgentTarget,
    EventInput,
    EventKind,
    Provider,
    StandardEvent,
)
from workflows.contracts.sessions import SessionInput


def newer_inputs(tag: str) -> dict[str, tuple[Any, int]]:
    """Each versioned workflow's input, one version past the code's."""
    event = StandardEvent(tenant_id="t-versions", provider=Provider.GITHUB,
                          source_event="issues.opened", kind=EventKind.NEW_WORK_ITEM, text="hi")
    return {
        "EventWorkflow": (EventInput(inbox_id=1, tenant_id="t-versions", provider=Provider.GITHUB,
                                     dedup_key=tag, version=EVENT_VERSION + 1), EVENT_VERSION),
        "SessionWorkflow": (SessionInput(tenant_id="t-versions", agent_id="a", thread=tag,
                                         version=SESSION_VERSION + 1), SESSION_VERSION),
        "AgentRunWorkflow": (AgentRunInput(run_id=tag, target=AgentTarget(agent_id="a"),
                                           event=event, version=RUN_VERSION + 1), RUN_VERSION),
    }


@pytest.mark.parametrize("workflow_type", ["EventWorkflow", "SessionWorkflow", "AgentRunWorkflow"])
async def test_a_newer_version_fails_the_task_not_the_run(
    workflow_type: str, temporal_client: Client, settings: Settings, platform: Platform,
) -> None:
    tag = f"versions-{uuid.uuid4().hex[:8]}"
    inp, known = newer_inputs(tag)[workflow_type]
    handle = await temporal_client.start_workflow(
        workflow_type, inp, id=f"{workflow_type}/{tag}", task_queue=settings.temporal.task_queue)
    try:
        async with asyncio.timeout(20):
            while True:
                events = (await handle.fetch_history()).events
                failed = [e for e in events
                          if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
                if failed:
                    break
                await asyncio.sleep(0.1)
        error = await temporal_client.data_converter.decode_failure(  # sealed by the codec
            failed[0].workflow_task_failed_event_attributes.failure)
        assert f"input version {known + 1} is newer than this worker's {known}" in str(error)
        # no command was recorded: no marker, activity, child, timer or upsert
        assert not [e for e in events if e.event_type in (
            EventType.EVENT_TYPE_MARKER_RECORDED, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
            EventType.EVENT_TYPE_TIMER_STARTED,
            EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)]
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # for new code
    finally:
        await handle.terminate("test over")
