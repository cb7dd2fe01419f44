"""Flipping the kill switch: applied directly in the database (``apply``), then recorded in the
switchboard-control workflow; or asked of the workflow (``change``), which answers once applied."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import asyncpg
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from infra.governance import kill_switch
from infra.temporal import LazyClient
from workflows.contracts import ControlChange, ControlState
from workflows.control import APPLIED_SIGNAL, ControlWorkflow
from workflows.ids import CONTROL_WORKFLOW_ID

log = logging.getLogger(__name__)

# How long a caller waits for a change asked of the control workflow to be applied. Applying
# takes tens of milliseconds (one workflow task on the control queue, which no event waits in,
# applying it as a local activity); past this the control worker is down or the database is
# unreachable, and the caller is told so.
APPLY_WITHIN_SECONDS = 5.0
# How long ``apply`` waits for the control workflow to record a change already in force. A
# signal-with-start is written to history by the server, which under an event backlog queued
# such writes for over a second; past this the answer says "not recorded" (never "not applied")
# and the record goes on in the background.
RECORD_WITHIN_SECONDS = 1.0


@dataclass(frozen=True)
class Applied:
    """A change in force (``state``: as committed, ``changes`` its version), and whether the
    control workflow recorded it in time."""

    state: ControlState
    recorded: bool


async def apply(pool: asyncpg.Pool, temporal: LazyClient, task_queue: str, asked: ControlChange,
                within: float = RECORD_WITHIN_SECONDS) -> Applied:
    """Apply a change in the database (in force when this returns: tokens revoked, every process
    told), then record it in the control workflow, waiting at most ``within`` seconds.

    The stop never waits on Temporal: a backlog of events, a restarted worker or Temporal down
    delays the record only. Database errors propagate (nothing was applied).
    """
    stopping = asked.action == "stop_all"
    state = await kill_switch.apply(pool, stopping, asked.reason if stopping else None)
    log.warning("kill switch: %s%s (version %d)", "STOP ALL" if state.stopped else "resume",
                f" ({state.reason})" if state.reason else "", state.changes)
    return Applied(state, await record(temporal, task_queue, state, within))


async def record(temporal: LazyClient, task_queue: str, state: ControlState,
                 within: float = RECORD_WITHIN_SECONDS) -> bool:
    """Signal ``applied`` (with start) to the control workflow; whether it took it within
    ``within`` seconds. Past that the record goes on in the background (for up to a minute), so
    the workflow's view catches up once Temporal does (measured: under a 300-event backlog the
    write took over a second in 16 of 20 stops, and cancelling it lost it)."""
    task = asyncio.create_task(_record(temporal, task_queue, state))
    done, _ = await asyncio.wait({task}, timeout=within)
    if task in done:
        return task.result()
    _recording.add(task)  # a reference, so the task is not collected before it ends
    task.add_done_callback(_recording.discard)
    log.warning("kill switch version %d is applied; the control workflow has not recorded it"
                " within %g s (still trying)", state.changes, within)
    return False


# Records still under way after their answer (see record).
_recording: set[asyncio.Task[bool]] = set()
RECORD_GIVE_UP_SECONDS = 60.0


async def _record(temporal: LazyClient, task_queue: str, state: ControlState) -> bool:
    try:
        async with asyncio.timeout(RECORD_GIVE_UP_SECONDS):
            client = await temporal.get()
            await client.start_workflow(
                ControlWorkflow.run, state, id=CONTROL_WORKFLOW_ID, task_queue=task_queue,
                start_signal=APPLIED_SIGNAL, start_signal_args=[state])
    except TimeoutError:
        log.warning("kill switch version %d is applied; the control workflow did not record it"
                    " within %g s", state.changes, RECORD_GIVE_UP_SECONDS)
        return False
    except (RPCError, RuntimeError, OSError) as err:
        temporal.forget()
        log.warning("kill switch version %d is applied; the control workflow could not record"
                    " it: %s", state.changes, err)
        return False
    return True


class NotApplied(Exception):
    """A change was asked but is not applied yet (the control worker did not apply it in time)."""


async def ensure_control(client: Client, task_queue: str,
                         applied: ControlState | None = None) -> None:
    """Start the control workflow on ``task_queue`` unless it runs there already.

    A run left on another queue (before the switch had its own, the platform queue) is ended and
    started again on this one, from ``applied`` (the state in the database).
    """
    handle = client.get_workflow_handle(CONTROL_WORKFLOW_ID)
    try:
        found = await handle.describe()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    else:
        if found.status == WorkflowExecutionStatus.RUNNING and found.task_queue != task_queue:
            log.warning("moving %s from task queue %s to %s", CONTROL_WORKFLOW_ID,
                        found.task_queue, task_queue)
            await handle.terminate(reason=f"moved to task queue {task_queue}")
    await client.start_workflow(
        ControlWorkflow.run, applied or ControlState(), id=CONTROL_WORKFLOW_ID,
        task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)


async def change(client: Client, task_queue: str, asked: ControlChange,
                 within: float = APPLY_WITHIN_SECONDS) -> ControlState:
    """Ask for a change; return the switch as applied once it is, or raise NotApplied.

    A plain update first: on the running workflow the server hands it to the worker in a
    speculative workflow task, written to history only with its answer. An update-with-start
    writes first (the start, even when the run exists), which waited in the server's write queue
    under a backlog: POST to task scheduled 346 ms p50 with 300 events in flight, 16 ms plain.
    The update-with-start is kept for when no control workflow runs.
    """
    handle = client.get_workflow_handle_for(ControlWorkflow.run, CONTROL_WORKFLOW_ID)
    try:
        async with asyncio.timeout(within):
            try:
                return await handle.execute_update(ControlWorkflow.change, asked)
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
            start = WithStartWorkflowOperation(
                ControlWorkflow.run, ControlState(), id=CONTROL_WORKFLOW_ID,
                task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
            return await client.execute_update_with_start_workflow(
                ControlWorkflow.change, asked, start_workflow_operation=start)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise NotApplied(
            f"{asked.action} was asked but is not applied yet: the control worker (task queue"
            f" {task_queue}) did not apply it within {within:g} s") from None
    except WorkflowUpdateFailedError as err:
        raise NotApplied(f"{asked.action} was asked but could not be applied: {err.cause}"
                         ) from None


async def state(client: Client) -> ControlState:
    """The switch as applied, by query."""
    handle = client.get_workflow_handle_for(ControlWorkflow.run, CONTROL_WORKFLOW_ID)
    return await handle.query(ControlWorkflow.state)
