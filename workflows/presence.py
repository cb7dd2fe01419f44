"""Presence: one workflow per agent (``presence/<tenant>/<agent id>``) fed by heartbeats.

An agent sends PING every 30 s (over its socket, or from its runtime worker); each becomes a
``heartbeat`` signal. Three intervals without one and the agent is marked OFFLINE (out of
routing) and its tenant's admins are alerted; the next heartbeat brings it back.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.control import ControlActivities
    from activities.governance import GovernanceActivities
    from workflows import policies
    from workflows.contracts import AlertInput, PresenceChange, PresenceInput

_BEATS_PER_RUN = 500  # ~3,000 events: under the server's continue-as-new suggestion


@workflow.defn(name="PresenceWorkflow")
class PresenceWorkflow:
    """Counts heartbeats; marks the agent offline after too many missed ones."""

    def __init__(self) -> None:
        self._beats = 0

    @workflow.run
    async def run(self, inp: PresenceInput) -> None:
        """Watch the heartbeats until the history is worth compacting, then continue as new."""
        online, seen = inp.online, self._beats
        window = timedelta(seconds=inp.interval_seconds * inp.missed_limit)
        while (self._beats - seen < _BEATS_PER_RUN
               and not workflow.info().is_continue_as_new_suggested()):
            last = self._beats
            try:
                await workflow.wait_condition(lambda last=last: self._beats > last,  # type: ignore[misc]
                                              timeout=window)
            except TimeoutError:
                if online:
                    online = False
                    await self._set(inp, online=False)
                    await workflow.execute_activity_method(
                        GovernanceActivities.raise_alert,
                        AlertInput(tenant_id=inp.tenant_id, kind="agent_offline",
                                   subject=f"{inp.agent_id}@{workflow.now().isoformat()}",
                                   detail=f"agent {inp.agent_id} missed {inp.missed_limit} "
                                          f"heartbeats ({inp.interval_seconds} s apart): offline,"
                                          " out of routing until it pings again"),
                        start_to_close_timeout=policies.DB_STEP_TIMEOUT,
                        retry_policy=policies.DB_STEP)
                continue
            if not online:
                online = True
                await self._set(inp, online=True)
        workflow.continue_as_new(inp.model_copy(update={"online": online}))

    @workflow.signal
    def heartbeat(self) -> None:
        """The agent is alive."""
        self._beats += 1

    @workflow.query
    def beats(self) -> int:
        """Heartbeats received by this run."""
        return self._beats

    @staticmethod
    async def _set(inp: PresenceInput, *, online: bool) -> None:
        await workflow.execute_activity_method(
            ControlActivities.set_presence,
            PresenceChange(tenant_id=inp.tenant_id, agent_id=inp.agent_id, online=online),
            start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
