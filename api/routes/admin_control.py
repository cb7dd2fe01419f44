"""Admin: the kill switch (``switchboard-control``), also reachable from the Temporal UI/CLI."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from temporalio.service import RPCError

from api.deps import AdminDep, PoolDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.inputs import Text
from infra.governance import control, kill_switch

router = APIRouter(prefix="/admin", tags=["admin: kill switch"], dependencies=[AdminDep])


class KillSwitchChange(BaseModel):
    """``stop_all`` stops every agent; ``resume`` lets them work again."""

    action: Literal["stop_all", "resume"]
    reason: Text = Field(default="stopped by an admin", max_length=500)


class KillSwitchState(BaseModel):
    """Whether agents are stopped, as applied everywhere."""

    stopped: bool
    reason: str | None


@router.post(
    "/kill-switch", summary="Stop every agent, or resume them; answers once applied",
    responses={503: {"description": "Not applied yet (Temporal or the control worker is "
                                    "unreachable); GET shows what is applied"}},
)
async def flip(body: KillSwitchChange, settings: SettingsDep, temporal: TemporalDep
               ) -> KillSwitchState:
    """Ask the control workflow for the change and answer once it is applied everywhere.

    stop_all severs agent sockets, revokes agent tokens (new ones refused while stopped), holds
    every outgoing Slack, ClickUp and GitHub call (platform alerts included) and new dispatches;
    webhooks are still accepted. The answer is the switch as applied, never only as asked.
    """
    queue = settings.temporal.control_task_queue
    try:
        client = await temporal.get()
        if body.action == "stop_all":
            applied = await control.stop_all(client, queue, body.reason)
        else:
            applied = await control.resume(client, queue)
    except control.NotApplied as err:
        raise ApiError(503, "not_applied", str(err), retry_after=1) from None
    except (RPCError, RuntimeError) as err:
        temporal.forget()
        raise ApiError(503, "temporal_unavailable", f"cannot reach Temporal: {err}; GET"
                       " /admin/kill-switch shows what is applied") from None
    return KillSwitchState(stopped=applied.stopped, reason=applied.reason)


@router.get("/kill-switch", summary="The kill switch as applied")
async def show(pool: PoolDep) -> KillSwitchState:
    """What every process is enforcing right now."""
    stopped, reason = await kill_switch.is_stopped(pool)
    return KillSwitchState(stopped=stopped, reason=reason)
