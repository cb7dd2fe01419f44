"""Admin: the kill switch, applied by the API itself and recorded in ``switchboard-control``
(which the Temporal UI/CLI also reach)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import AdminDep, PoolDep, SettingsDep, TemporalDep
from api.inputs import Text
from infra.governance import control, kill_switch
from workflows.contracts import ControlChange

router = APIRouter(prefix="/admin", tags=["admin: kill switch"], dependencies=[AdminDep])


class KillSwitchChange(BaseModel):
    """``stop_all`` stops every agent; ``resume`` lets them work again."""

    action: Literal["stop_all", "resume"]
    reason: Text = Field(default="stopped by an admin", max_length=500)


class KillSwitchState(BaseModel):
    """Whether agents are stopped, as applied everywhere."""

    stopped: bool
    reason: str | None
    version: int = Field(description="One more on every change; the applied state's number")


class KillSwitchApplied(KillSwitchState):
    """The switch as applied by this request (committed before the answer)."""

    recorded: bool = Field(description=(
        "Whether the switchboard-control workflow (the Temporal UI's view) recorded the change"
        " within a second. False when Temporal is slow or down: the change is in force"
        " regardless, and the API keeps trying to record it for a minute"))


@router.post(
    "/kill-switch", summary="Stop every agent, or resume them; answers once applied",
    responses={503: {"description": "The database is unreachable: nothing was applied"}},
)
async def flip(body: KillSwitchChange, pool: PoolDep, settings: SettingsDep,
               temporal: TemporalDep) -> KillSwitchApplied:
    """Apply the change in the database, then record it in the control workflow.

    stop_all severs agent sockets, revokes agent tokens (new ones refused while stopped), holds
    every outgoing Slack, ClickUp and GitHub call (platform alerts included) and new dispatches;
    webhooks are still accepted. The answer is the switch as committed, never only as asked; it
    does not wait on Temporal for more than a second (``recorded`` says whether it took it).
    """
    done = await control.apply(pool, temporal, settings.temporal.control_task_queue,
                               ControlChange(action=body.action, reason=body.reason))
    state = done.state
    return KillSwitchApplied(stopped=state.stopped, reason=state.reason, version=state.changes,
                             recorded=done.recorded)


@router.get("/kill-switch", summary="The kill switch as applied")
async def show(pool: PoolDep) -> KillSwitchState:
    """What every process is enforcing right now."""
    state = await kill_switch.current(pool)
    return KillSwitchState(stopped=state.stopped, reason=state.reason, version=state.changes)
