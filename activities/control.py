"""Kill-switch activities: apply a change, and gate dispatch while the switch is on."""

from __future__ import annotations

import logging

import asyncpg
from temporalio import activity

from infra import audit
from infra.directory import agents
from infra.governance import kill_switch
from workflows.contracts import ControlGate, ControlState, PresenceChange

log = logging.getLogger(__name__)


class ControlActivities:
    """Reads and writes the shared control state."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="apply_control")
    async def apply_control(self, state: ControlState) -> ControlState:
        """Make a kill-switch change take effect everywhere; the state as applied, versioned.

        Runs recorded before it returned the state read None here (the workflow handles it).
        """
        log.warning("kill switch: %s%s", "STOP ALL" if state.stopped else "resume",
                    f" ({state.reason})" if state.reason else "")
        applied = await kill_switch.apply(self._pool, state.stopped, state.reason)
        # What the API (its HTTP audit hook) and switchboard kill apply, they audit; this is a
        # change asked of the control workflow (Temporal UI or CLI), recorded where it applies.
        await audit.record(self._pool, audit.AuditEntry(
            actor="control-workflow", action="kill_switch.applied", outcome="ok",
            detail={"stopped": applied.stopped, "reason": applied.reason,
                    "version": applied.changes}))
        return applied

    @activity.defn(name="control_gate")
    async def control_gate(self) -> ControlGate:
        """Whether new work must be held (the kill switch is on)."""
        stopped, reason = await kill_switch.is_stopped(self._pool)
        return ControlGate(held=stopped, reason=reason)

    @activity.defn(name="set_presence")
    async def set_presence(self, change: PresenceChange) -> None:
        """Take an agent out of routing (offline) or bring it back; never touches paused ones."""
        await agents.set_presence(self._pool, change.tenant_id, change.agent_id, change.online)
