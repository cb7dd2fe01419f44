"""Admin: the kill switch (``switchboard-control``), also reachable from the Temporal UI/CLI."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from temporalio.service import RPCError

from api.deps import AdminDep, AppStateDep
from api.errors import ApiError
from api.inputs import Text
from infra import control
from infra.store import control as control_store

router = APIRouter(prefix="/admin", tags=["admin: kill switch"], dependencies=[AdminDep])


class KillSwitchChange(BaseModel):
    """``stop_all`` stops every agent; ``resume`` lets them work again."""

    action: Literal["stop_all", "resume"]
    reason: Text = Field(default="stopped by an admin", max_length=500)


class KillSwitchState(BaseModel):
    """Whether agents are stopped, as applied everywhere."""

    stopped: bool
    reason: str | None


@router.post("/kill-switch", summary="Stop every agent, or resume them")
async def flip(body: KillSwitchChange, state: AppStateDep) -> KillSwitchState:
    """Signal the control workflow; the change is applied within about a second.

    stop_all severs agent sockets, revokes agent tokens (new ones refused while stopped), holds
    outgoing Slack and ClickUp calls and new dispatches; webhooks are still accepted.
    """
    queue = state.settings.temporal.task_queue
    try:
        client = await state.temporal.get()
        if body.action == "stop_all":
            await control.stop_all(client, queue, body.reason)
        else:
            await control.resume(client, queue)
    except (RPCError, RuntimeError) as err:
        state.temporal.forget()
        raise ApiError(503, "temporal_unavailable", f"cannot reach Temporal: {err}") from None
    stopped = body.action == "stop_all"
    return KillSwitchState(stopped=stopped, reason=body.reason if stopped else None)


@router.get("/kill-switch", summary="The kill switch as applied")
async def show(state: AppStateDep) -> KillSwitchState:
    """What every process is enforcing right now."""
    stopped, reason = await control_store.is_stopped(state.pool)
    return KillSwitchState(stopped=stopped, reason=reason)
