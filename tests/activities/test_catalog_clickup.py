"""ClickUp's webhook catalog: every task event reaches an agent with the facts to fetch the task.

Fixtures are ClickUp's documented examples and activepieces' captured deliveries (sources in
index.json; ClickUp publishes no example of an assignee removal or of a folder deletion, so those
are built here); ``test_normalize_corpus`` checks each against its ``expect``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from activities.normalize import normalize
from tests import corpus
from workflows.contracts import EventKind, Provider, StandardEvent

CATALOG = corpus.entries("clickup", catalog=True)
K = EventKind
TASK_EVENTS = {"taskCreated", "taskUpdated", "taskDeleted", "taskPriorityUpdated",
               "taskStatusUpdated", "taskAssigneeUpdated", "taskDueDateUpdated", "taskTagUpdated",
               "taskMoved", "taskCommentPosted", "taskTimeEstimateUpdated",
               "taskTimeTrackedUpdated"}  # fmt: skip


def _body(entry: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(corpus.body(entry))
    return body


def _event(body: dict[str, Any]) -> StandardEvent:
    return normalize(Provider.CLICKUP, "t", body)


def test_catalog_has_every_task_list_folder_space_and_goal_event() -> None:
    events = {_body(e)["event"] for e in CATALOG}
    assert TASK_EVENTS | {"taskCommentUpdated"} <= events
    assert {"listCreated", "listUpdated", "listDeleted", "folderCreated", "folderUpdated",
            "spaceCreated", "spaceUpdated", "spaceDeleted", "goalCreated", "goalUpdated",
            "goalDeleted", "keyResultCreated", "keyResultUpdated", "keyResultDeleted"} <= events


@pytest.mark.parametrize("entry", [e for e in CATALOG if _body(e)["event"] in TASK_EVENTS],
                         ids=lambda e: e["id"])
def test_every_task_event_reaches_an_agent_with_the_task_id(entry: dict[str, Any]) -> None:
    body = _body(entry)
    event = _event(body)
    assert event.kind is not K.IGNORE, event.ignore_reason
    assert event.facts["task_id"] == body["task_id"]
    assert event.ref is not None and event.ref.item == body["task_id"]
    ids = [h["id"] for h in body.get("history_items", [])]
    assert event.facts.get("history_item_ids", []) == ids  # each history item, once


@pytest.mark.parametrize("entry", [e for e in CATALOG if not _body(e)["event"].startswith("task")],
                         ids=lambda e: e["id"])
def test_administration_is_ignored_by_name(entry: dict[str, Any]) -> None:
    body = _body(entry)
    event = _event(body)
    assert event.kind is K.IGNORE and body["event"] in (event.ignore_reason or "")


def test_comment_is_remembered_and_its_edit_updates_memory() -> None:
    posted = _event(_body(corpus.entry("clickup.taskCommentPosted")))
    assert posted.kind is K.COMMENT
    assert (posted.facts["memory"], posted.facts["message_id"], posted.text) == (
        "add", "648893191", "comment abc1234\n")
    edited = _event(_body(corpus.entry("clickup.catalog.taskCommentUpdated")))
    assert edited.kind is K.IGNORE and edited.ignore_reason == "comment edited: memory updated"
    assert (edited.facts["memory"], edited.facts["message_id"], edited.text) == (
        "edit", "90090008088251", "asdsada")
    assert edited.ref is not None and edited.ref.item == "8669p1zvv"


def test_move_between_lists_names_both_lists_and_maps_to_the_new_one() -> None:
    event = _event(_body(corpus.entry("clickup.catalog.taskMoved")))
    assert event.kind is K.UPDATE
    assert (event.facts["from_list"], event.facts["to_list"]) == ("162641062", "162641285")
    assert [h.external_id for h in event.project_hints] == ["162641285"]


USER = {"id": 183, "username": "John"}


def _history(field: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"h-{field}", "date": "1642736194135", "field": field, "parent_id": "900",
            "user": USER} | extra


def test_assignee_removed_and_added_in_one_delivery() -> None:
    body = {"event": "taskAssigneeUpdated", "task_id": "abc", "webhook_id": "w",
            "history_items": [
                _history("assignee_rem", before={"id": 7, "username": "Mia"}, after=None),
                _history("assignee_add", after={"id": 8, "username": "Ray"})]}
    event = _event(body)
    assert event.kind is K.ASSIGNMENT and event.assignees == ["Ray"]
    assert (event.facts["assignees_added"], event.facts["assignees_removed"]) == (["Ray"], ["Mia"])
    assert event.facts["history_item_ids"] == ["h-assignee_rem", "h-assignee_add"]


def test_assignee_removed_alone_is_addressed_to_who_was_removed() -> None:
    body = {"event": "taskAssigneeUpdated", "task_id": "abc", "webhook_id": "w",
            "history_items": [_history("assignee_rem", before={"id": 7, "username": "Mia"})]}
    event = _event(body)
    assert (event.kind, event.assignees, event.facts["change"]) == (
        K.ASSIGNMENT, ["Mia"], "removed")


def test_status_repeated_at_creation_is_not_a_second_piece_of_work() -> None:
    created = _body(corpus.entry("clickup.taskCreated"))
    status_item = next(h for h in created["history_items"] if h["field"] == "status")
    echo = {"event": "taskStatusUpdated", "history_items": [status_item],
            "task_id": created["task_id"], "webhook_id": created["webhook_id"]}
    event = _event(echo)
    assert event.kind is K.IGNORE and status_item["id"] in (event.ignore_reason or "")
    assert _event(created).kind is K.NEW_WORK_ITEM


def test_comment_tags_are_mentions() -> None:
    comment = {"id": "c1", "text_content": "@AI_Squad look", "comment": [
        {"type": "tag", "user": {"id": 9, "username": "Ops"}}, {"text": "@AI_Squad look"}]}
    body = {"event": "taskCommentPosted", "task_id": "abc", "webhook_id": "w",
            "history_items": [_history("comment", comment=comment, after="c1")]}
    event = _event(body)
    assert event.mentions == ["Ops", "AI_Squad"]
    assert (event.facts["task_id"], event.facts["comment_id"]) == ("abc", "c1")
