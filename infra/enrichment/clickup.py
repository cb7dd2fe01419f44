"""A ClickUp task (name, description, status, assignees, list, URL) through API v2 with httpx."""

from __future__ import annotations

from typing import Any

from infra.enrichment.base import Found, Reach, Target
from infra.gateway.clients import CLICKUP, clickup_request


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


async def fetch_task(target: Target, credential: str, reach: Reach) -> Found:
    """GET /task/{id} through the process's ClickUp client, as the gateway's executors call it
    (one attempt)."""
    client = CLICKUP.get(reach.clickup_api_url, reach.timeout_seconds)  # the gateway's client
    task = await clickup_request(client, "GET", f"/task/{target.item}", credential)
    name = _str(task.get("name")) or f"ClickUp task {target.item}"
    description = _str(task.get("description")) or _str(task.get("text_content"))
    status = _str(_obj(task.get("status")).get("status"))
    people = [_obj(a) for a in task.get("assignees") or [] if isinstance(a, dict)]
    assignees = tuple(n for n in (_str(a.get("username")) or (str(a["id"]) if a.get("id")
                                                              else None) for a in people) if n)
    lst = _obj(task.get("list"))
    list_name = _str(lst.get("name"))
    url = _str(task.get("url")) or f"https://app.clickup.com/t/{target.item}"
    card = [f"Task: {name}", f"Status: {status or 'unknown'}",
            f"Assignees: {', '.join(assignees) or 'nobody'}",
            f"List: {list_name or lst.get('id') or target.container or 'unknown'}"]
    summary = "\n".join(card)
    if description:
        card += ["", description]
    facts: dict[str, str | int | float | bool] = {}
    if status:
        facts["task_status"] = status
    if list_name:
        facts["list_name"] = list_name
    if _str(lst.get("id")) and not target.container:
        facts["list_id"] = str(lst["id"])
    return Found(what=f"ClickUp task {target.item}", context_title=f"ClickUp task: {name}",
                 context_text="\n".join(card), url=url, title=name, text=description,
                 mention_text=description, assignees=assignees, facts=facts, card=summary)
