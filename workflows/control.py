"""The kill switch: one long-lived workflow, ``switchboard-control``.

Signal ``stop_all`` (with a reason) or ``resume`` from the Temporal UI, the ``temporal`` CLI,
``switchboard kill`` or ``POST /admin/kill-switch``; query ``state``. Each change is applied by
an activity that writes the shared control state and tells every API process and worker.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import policies
    from workflows.contracts import ControlState, StopAll

APPLY_ACTIVITY = "apply_control"
_CHANGES_PER_RUN = 500


@workflow.defn(name="ControlWorkflow")
class ControlWorkflow:
    """Holds the switch's state and applies every change, in order."""

    def __init__(self) -> None:
        self._state = ControlState()
        self._pending: list[ControlState] = []

    @workflow.run
    async def run(self, state: ControlState) -> None:
        """Apply changes as they come; continue as new before the history grows large."""
        self._state = state
        while True:
            await workflow.wait_condition(
                lambda: bool(self._pending) or workflow.info().is_continue_as_new_suggested())
            while self._pending:
                change = self._pending.pop(0)
                await workflow.execute_activity(
                    APPLY_ACTIVITY, change,
                    start_to_close_timeout=policies.DB_STEP_TIMEOUT,
                    retry_policy=policies.DB_STEP,
                )
            if self._state.changes % _CHANGES_PER_RUN == 0 or (
                    workflow.info().is_continue_as_new_suggested()):
                workflow.continue_as_new(self._state)

    @workflow.signal
    def stop_all(self, stop: StopAll | None = None) -> None:
        """Stop every agent: sockets closed, tokens revoked, outgoing calls and dispatch held."""
        reason = (stop or StopAll()).reason
        self._change(ControlState(stopped=True, reason=reason, changes=self._state.changes + 1))

    @workflow.signal
    def resume(self) -> None:
        """Let agents work again; held calls and dispatches go out."""
        self._change(ControlState(stopped=False, reason=None, changes=self._state.changes + 1))

    @workflow.query
    def state(self) -> ControlState:
        """The switch as it is now."""
        return self._state

    def _change(self, state: ControlState) -> None:
        self._state = state
        self._pending.append(state)
