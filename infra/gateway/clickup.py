"""ClickUp intents: create a task in a list, comment on a task (API v2 through httpx)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from pydantic import BaseModel, Field

from infra.gateway.base import (
    ExecutionContext,
    GatewayError,
    Intent,
    Result,
    retry_after,
    retryable_status,
)

# Ids go into URL paths: letters, digits, "-" and "_" only, so no "../" can change the route.
ID_PATTERN = r"^[A-Za-z0-9_-]+$"


class CreateTaskArgs(BaseModel):
    """Arguments of clickup_create_task."""

    list_id: Annotated[str, Field(pattern=ID_PATTERN, max_length=64,
                                  description='Id of the ClickUp list to add the task to')]
    name: str = Field(min_length=1, max_length=1000, description="Task title")
    description: str | None = Field(default=None, max_length=100000,
                                    description="Task description (plain text)")


class CommentArgs(BaseModel):
    """Arguments of clickup_comment."""

    task_id: Annotated[str, Field(pattern=ID_PATTERN, max_length=64,
                                  description='Id of the ClickUp task, e.g. "86abc123x"')]
    text: str = Field(min_length=1, max_length=100000, description="Comment text (plain text)")




async def _post(ctx: ExecutionContext, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the ClickUp API and return its JSON, mapping failures to GatewayError."""
    async with httpx.AsyncClient(base_url=ctx.settings.clickup_api_url,
                                 timeout=ctx.settings.timeout_seconds,
                                 headers={"Authorization": ctx.credential}) as client:
        try:
            response = await client.post(path, json=body)
        except httpx.TransportError as exc:
            raise GatewayError(f"ClickUp unreachable: {type(exc).__name__}",
                               retryable=True) from None
    if response.is_success:
        data: dict[str, Any] = response.json()
        return data
    try:
        detail = response.json()
        reason = f"{detail.get('err')} ({detail.get('ECODE')})"
    except ValueError:
        reason = response.reason_phrase
    retryable = retryable_status(response.status_code)
    raise GatewayError(f"ClickUp answered {response.status_code}: {reason}",
                       retryable=retryable, status=response.status_code,
                       retry_after=retry_after(response.headers) if retryable else None)


async def create_task(args: CreateTaskArgs, ctx: ExecutionContext) -> Result:
    """Create a task in a list."""
    body: dict[str, Any] = {"name": args.name}
    if args.description is not None:
        body["description"] = args.description
    task = await _post(ctx, f"/list/{args.list_id}/task", body)
    return {"id": str(task["id"]), "url": task.get("url")}


async def comment(args: CommentArgs, ctx: ExecutionContext) -> Result:
    """Comment on a task."""
    made = await _post(ctx, f"/task/{args.task_id}/comment",
                       {"comment_text": args.text, "notify_all": False})
    return {"id": str(made["id"])}


CLICKUP_CREATE_TASK = Intent(
    name="clickup_create_task",
    description="Create a new task in a ClickUp list, with an optional description. Returns "
                "the task's id and URL.",
    args=CreateTaskArgs, resource=lambda a: a.list_id, secret="clickup_token",
    execute=create_task, writes=True)
CLICKUP_COMMENT = Intent(
    name="clickup_comment",
    description="Add a comment to an existing ClickUp task. Returns the comment's id.",
    args=CommentArgs, resource=lambda a: a.task_id, secret="clickup_token", execute=comment,
    writes=True, message=lambda a: a.text)

INTENTS: list[Intent[Any]] = [CLICKUP_CREATE_TASK, CLICKUP_COMMENT]
