"""The kill switch: one long-lived workflow, ``switchboard-control``, on its own task queue.

``switchboard kill`` and ``POST /admin/kill-switch`` send the update ``change`` (with start),
which returns only once the change is applied: state written, every agent token revoked on a
stop, every API process and worker told (NOTIFY). From the Temporal UI or the ``temporal`` CLI,
signal ``stop_all`` (with a reason) or ``resume``; query ``state``. Signals and updates are
applied in the order they arrive, each by ``apply_control`` run as a local activity by the
control worker that holds the workflow task: the change is applied and the update answered in
that one workflow task, with no activity task and no second workflow task to wait for on a busy
worker (see workers/platform.py ``control_worker``).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.control import ControlActivities
    from workflows import policies
    from workflows.contracts import ControlChange, ControlState, StopAll

# A run begun before the apply was local keeps applying by activity (its history has no patch
# marker) until it continues as new; apply_control stays registered as an activity for it.
LOCAL_APPLY_PATCH = "apply-control-locally"
# Each workflow task replays the whole run (the control worker keeps no cache), at about 0.6 ms
# per event on an idle core (98 changes, 594 events: 378 ms; 20 changes, 126 events: 86 ms), more
# on a busy one. About 6 events per change: a run of 5 changes replays in under 30 ms. The
# continue-as-new comes after the last update is answered, off the stop's path. Runs applying by
# activity keep the limit they were started with.
_CHANGES_PER_RUN = 5
_CHANGES_PER_ACTIVITY_RUN = 500


@workflow.defn(name="ControlWorkflow")
class ControlWorkflow:
    """Holds the switch's state and applies every change, in order."""

    @workflow.init
    def __init__(self, state: ControlState) -> None:
        # Set from the input here, not in run: an update in a run's first workflow task (one
        # sent while the last run continued as new) is handled before run starts, and must
        # number its change after the state carried over.
        self._asked = state  # the last change asked (numbered)
        self._applied = state  # the last change applied
        self._pending: list[ControlState] = []
        self._first = state.changes
        self._local = True

    @workflow.run
    async def run(self, state: ControlState) -> None:
        """Apply changes as they come; continue as new before the history grows large."""
        self._local = workflow.patched(LOCAL_APPLY_PATCH)
        while True:
            await workflow.wait_condition(lambda: bool(self._pending) or self._long())
            while self._pending:
                await self._apply(self._pending[0])
                self._applied = self._pending.pop(0)
            if self._long():
                # An update still answering would be lost with this run: let it finish; a change
                # asked meanwhile is applied in this run first.
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() or bool(self._pending))
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

    async def _apply(self, state: ControlState) -> None:
        if self._local:
            # Local: run by the worker holding this workflow task, which completes with the
            # result (and the update's answer) once it is applied.
            await workflow.execute_local_activity_method(
                ControlActivities.apply_control, state,
                start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
        else:
            # The activity's default queue is this workflow's: the control queue.
            await workflow.execute_activity_method(
                ControlActivities.apply_control, state,
                start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)

    def _long(self) -> bool:
        limit = _CHANGES_PER_RUN if self._local else _CHANGES_PER_ACTIVITY_RUN
        return (self._applied.changes - self._first >= limit
                or workflow.info().is_continue_as_new_suggested())
