"""ClickUp intents: create a task in a list, comment on a task (API v2 through httpx)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from infra.gateway.base import ExecutionContext, Intent, Result
from infra.gateway.clients import CLICKUP, clickup_request

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
    # One long-lived client, not one per call: building one costs ~134 ms (infra/gateway/clients)
    client = CLICKUP.get(ctx.settings.clickup_api_url, ctx.settings.timeout_seconds)
    return await clickup_request(client, "POST", path, ctx.credential, body)


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
