"""The kill switch's record: one long-lived workflow, ``switchboard-control``, on its own queue.

``POST /admin/kill-switch`` and ``switchboard kill`` apply a change themselves, in the database
(infra/governance/kill_switch.py: state and version written, every agent token revoked on a stop,
every API process and worker told by NOTIFY), so a stop never waits behind Temporal; then they
signal ``applied`` here (with start) with the state as committed, which only records it. From
the Temporal UI or the ``temporal`` CLI, signal ``stop_all`` (with a reason) or ``resume``, or
send the update ``change`` (``switchboard kill`` without database settings does): those are
applied here, in the order they arrive, each by ``apply_control`` run as a local activity by the
control worker holding the workflow task, with no activity task and no second workflow task to
wait for (see workers/platform.py ``control_worker``). Query ``state``: the applied state with
the highest version seen, so a record that arrives late never hides a newer change.
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
# A run begun with this marker numbers its state by the database's version (``changes``); one
# begun before counted its changes itself, and its apply_control results are None (recorded
# before the activity returned the state), so its first state from the database replaces it.
DB_VERSION_PATCH = "control-db-version"
APPLIED_SIGNAL = "applied"
# Each workflow task replays the whole run (the control worker keeps no cache), at about 0.6 ms
# per event on an idle core (98 changes, 594 events: 378 ms; 20 changes, 126 events: 86 ms), more
# on a busy one. About 6 events per change applied here, 4 per change recorded: a run of 5 replays
# in under 30 ms. The continue-as-new comes after the last update is answered, off any stop's
# path. Runs applying by activity keep the limit they were started with.
_CHANGES_PER_RUN = 5
_CHANGES_PER_ACTIVITY_RUN = 500


@workflow.defn(name="ControlWorkflow")
class ControlWorkflow:
    """Records every change of the switch, and applies those asked of it, in order."""

    @workflow.init
    def __init__(self, state: ControlState) -> None:
        # Set from the input here, not in run: a signal or update in a run's first workflow task
        # (one sent while the last run continued as new) is handled before run starts.
        self._shown = state  # the applied state with the highest version seen
        self._versioned = True  # _shown.changes is a database version (see DB_VERSION_PATCH)
        self._base = state.changes  # numbers the changes asked here, as runs before versions did
        self._pending: list[ControlState] = []  # asked here, not yet applied
        self._asked = 0  # changes asked in this run
        self._done = 0  # of those, applied
        self._recorded = 0  # changes applied elsewhere and recorded in this run
        self._local = True

    @workflow.run
    async def run(self, state: ControlState) -> None:
        """Apply changes as they come; continue as new before the history grows large."""
        self._local = workflow.patched(LOCAL_APPLY_PATCH)
        if not workflow.patched(DB_VERSION_PATCH):
            self._versioned = False
        while True:
            await workflow.wait_condition(lambda: bool(self._pending) or self._long())
            while self._pending:
                await self._apply(self._pending[0])
                self._pending.pop(0)
            if self._long():
                # An update still answering would be lost with this run: let it finish; a change
                # asked meanwhile is applied in this run first.
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() or bool(self._pending))
                if not self._pending:
                    workflow.continue_as_new(self._shown)

    @workflow.update
    async def change(self, change: ControlChange) -> ControlState:
        """Stop or resume, and answer once that change is applied: the switch as applied."""
        if change.action == "stop_all":
            asked = self._ask(stopped=True, reason=change.reason)
        else:
            asked = self._ask(stopped=False, reason=None)
        await workflow.wait_condition(lambda: self._done >= asked)
        return self._shown

    @workflow.signal
    def stop_all(self, stop: StopAll | None = None) -> None:
        """Stop every agent: sockets closed, tokens revoked, outgoing calls and dispatch held."""
        self._ask(stopped=True, reason=(stop or StopAll()).reason)

    @workflow.signal
    def resume(self) -> None:
        """Let agents work again; held calls and dispatches go out."""
        self._ask(stopped=False, reason=None)

    @workflow.signal(name=APPLIED_SIGNAL)
    def applied(self, state: ControlState) -> None:
        """Record a change the API or ``switchboard kill`` applied itself (nothing runs)."""
        self._recorded += 1
        self._see(state)

    @workflow.query
    def state(self) -> ControlState:
        """The switch as applied now (a change asked but not yet applied is not shown)."""
        return self._shown

    def _ask(self, *, stopped: bool, reason: str | None) -> int:
        self._asked += 1
        self._pending.append(ControlState(stopped=stopped, reason=reason,
                                          changes=self._base + self._asked))
        return self._asked

    def _see(self, state: ControlState) -> None:
        if not self._versioned or state.changes > self._shown.changes:
            self._shown = state
            self._versioned = True

    async def _apply(self, asked: ControlState) -> None:
        result: ControlState | None
        if self._local:
            # Local: run by the worker holding this workflow task, which completes with the
            # result (and the update's answer) once it is applied.
            result = await workflow.execute_local_activity_method(
                ControlActivities.apply_control, asked,
                start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
        else:
            # The activity's default queue is this workflow's: the control queue.
            result = await workflow.execute_activity_method(
                ControlActivities.apply_control, asked,
                start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
        self._done += 1
        if result is None:  # recorded before apply_control returned the state: as asked
            self._shown = asked
            self._versioned = False
        else:
            self._see(result)

    def _long(self) -> bool:
        limit = _CHANGES_PER_RUN if self._local else _CHANGES_PER_ACTIVITY_RUN
        return (self._done + self._recorded >= limit
                or workflow.info().is_continue_as_new_suggested())
