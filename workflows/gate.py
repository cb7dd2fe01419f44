"""The dispatch gate: while the kill switch is on, new work for agents waits, durably."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.control import ControlActivities
    from workflows import policies
    from workflows.contracts import ControlGate

RECHECK = timedelta(seconds=1)


async def read_gate() -> ControlGate:
    """The kill switch as it is now (a local activity)."""
    gate: ControlGate = await workflow.execute_local_activity_method(
        ControlActivities.control_gate,
        start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
    return gate


async def hold_while_stopped() -> None:
    """Return once the kill switch is off (at once, nearly always).

    A local activity reads the switch; while it is on, a durable timer rechecks every second,
    so held work is visible in the UI and goes out within a second of ``resume``.
    """
    while (await read_gate()).held:
        await workflow.sleep(RECHECK)
