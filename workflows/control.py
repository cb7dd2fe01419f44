"""The kill switch: one long-lived workflow, ``switchboard-control``, on its own task queue.

``switchboard kill`` and ``POST /admin/kill-switch`` send the update ``change`` (with start),
which returns only once the change is applied: state written, every agent token revoked on a
stop, every API process and worker told (NOTIFY). From the Temporal UI or the ``temporal`` CLI,
signal ``stop_all`` (with a reason) or ``resume``; query ``state``. Signals and updates are
applied in the order they arrive, each by the ``apply_control`` activity on the control queue,
which no event ever waits in (see workers/platform.py ``control_worker``).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows import policies
    from workflows.contracts import ControlChange, ControlState, StopAll

APPLY_ACTIVITY = "apply_control"
_CHANGES_PER_RUN = 500


@workflow.defn(name="ControlWorkflow")
class ControlWorkflow:
    """Holds the switch's state and applies every change, in order."""

    def __init__(self) -> None:
        self._asked = ControlState()  # the last change asked (numbered)
        self._applied = ControlState()  # the last change applied
        self._pending: list[ControlState] = []
        self._first = 0

    @workflow.run
    async def run(self, state: ControlState) -> None:
        """Apply changes as they come; continue as new before the history grows large."""
        self._asked = self._applied = state
        self._first = state.changes
        while True:
            await workflow.wait_condition(lambda: bool(self._pending) or self._long())
            while self._pending:
                # The activity's default queue is this workflow's: the control queue.
                await workflow.execute_activity(
                    APPLY_ACTIVITY, self._pending[0],
                    start_to_close_timeout=policies.DB_STEP_TIMEOUT,
                    retry_policy=policies.DB_STEP,
                )
                self._applied = self._pending.pop(0)
            if self._long():
                # An update still answering would be lost with this run: let it finish.
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._pending:
                    workflow.continue_as_new(self._applied)

    @workflow.update
    async def change(self, change: ControlChange) -> ControlState:
        """Stop or resume, and answer once that change is applied: the switch as applied."""
        if change.action == "stop_all":
            target = self._change(stopped=True, reason=change.reason)
        else:
            target = self._change(stopped=False, reason=None)
        await workflow.wait_condition(lambda: self._applied.changes >= target.changes)
        return self._applied

    @workflow.signal
    def stop_all(self, stop: StopAll | None = None) -> None:
        """Stop every agent: sockets closed, tokens revoked, outgoing calls and dispatch held."""
        self._change(stopped=True, reason=(stop or StopAll()).reason)

    @workflow.signal
    def resume(self) -> None:
        """Let agents work again; held calls and dispatches go out."""
        self._change(stopped=False, reason=None)

    @workflow.query
    def state(self) -> ControlState:
        """The switch as applied now (a change asked but not yet applied is not shown)."""
        return self._applied

    def _change(self, *, stopped: bool, reason: str | None) -> ControlState:
        self._asked = ControlState(stopped=stopped, reason=reason,
                                   changes=self._asked.changes + 1)
        self._pending.append(self._asked)
        return self._asked

    def _long(self) -> bool:
        return (self._applied.changes - self._first >= _CHANGES_PER_RUN
                or workflow.info().is_continue_as_new_suggested())
