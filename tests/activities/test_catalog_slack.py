"""Slack's Events API catalog: every collected example gets its deliberate kind and facts.

Fixtures come from slackapi/bolt-python's scenario tests and Slack's own event reference pages
(sources in index.json); ``test_normalize_corpus`` checks each against its ``expect``. Here: a
person's new words always reach an agent and are remembered, edits and deletions update memory
under the original message's ``ts``, and the cases no published example shows (a reply or an app
mention inside a thread, an edit that adds a mention) behave.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from activities.normalize import normalize
from tests import corpus
from workflows.contracts import EventKind, Provider, StandardEvent

CATALOG = corpus.entries("slack", catalog=True)
K = EventKind
HUMAN_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message"}


def _event(entry: dict[str, Any]) -> StandardEvent:
    return normalize(Provider.SLACK, "t", json.loads(corpus.body(entry)))


def _inner(entry: dict[str, Any]) -> dict[str, Any]:
    inner: dict[str, Any] = json.loads(corpus.body(entry)).get("event") or {}
    return inner


def _persons_words(entry: dict[str, Any]) -> bool:
    inner = _inner(entry)
    return (inner.get("type") in ("message", "app_mention") and not inner.get("bot_id")
            and inner.get("subtype") in HUMAN_SUBTYPES)


def test_catalog_covers_the_named_message_kinds() -> None:
    subtypes = {_inner(e).get("subtype") for e in CATALOG}
    types = {_inner(e).get("type") for e in CATALOG}
    assert {"message_changed", "message_deleted", "thread_broadcast", "file_share",
            "me_message", "bot_message", "channel_join", "message_replied"} <= subtypes
    assert {"app_mention", "reaction_added", "member_joined_channel", "link_shared",
            "file_shared", "app_uninstalled", "tokens_revoked"} <= types
    assert len(CATALOG) >= 40


@pytest.mark.parametrize("entry", [e for e in CATALOG if _persons_words(e)],
                         ids=lambda e: e["id"])
def test_a_persons_words_reach_an_agent_and_are_remembered(entry: dict[str, Any]) -> None:
    event, inner = _event(entry), _inner(entry)
    assert event.kind in (K.NEW_WORK_ITEM, K.COMMENT), event.ignore_reason
    assert (event.facts["memory"], event.facts["message_id"]) == ("add", inner["ts"])
    assert (event.facts["channel"], event.text) == (inner["channel"], inner["text"])
    thread = inner.get("thread_ts")
    assert event.kind is (K.COMMENT if thread and thread != inner["ts"] else K.NEW_WORK_ITEM)
    assert event.ref is not None and event.ref.item == (thread or inner["ts"])


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e["id"])
def test_ignored_events_say_specifically_why(entry: dict[str, Any]) -> None:
    event = _event(entry)
    if event.kind is not K.IGNORE:
        return
    reason = event.ignore_reason or ""
    assert "not handled" not in reason
    inner = _inner(entry)
    named = inner.get("subtype") or inner.get("type") or entry["id"].rsplit(".", 1)[-1]
    assert named in reason or "memory updated" in reason or "bot" in reason, reason


def test_edit_updates_the_original_message_in_memory() -> None:
    event = _event(corpus.entry("slack.catalog.message.changed"))
    assert event.kind is K.IGNORE and event.ignore_reason == "message edited: memory updated"
    # bolt's example carries the original ts on previous_message only
    assert (event.facts["memory"], event.facts["message_id"]) == ("edit", "1665102338.901939")
    assert (event.text, event.facts["channel"]) == ("updated message", "C111")
    assert event.facts["ts"] == "1665102362.013600"  # the edit's own ts, as before


def test_deletion_removes_the_original_message_from_memory() -> None:
    event = _event(corpus.entry("slack.catalog.message.deleted"))
    assert event.kind is K.IGNORE and event.ignore_reason == "message deleted: memory updated"
    assert (event.facts["memory"], event.facts["message_id"]) == ("delete", "1665368619.804829")
    assert event.actor is not None and event.actor.id == "U111" and event.text is None


def _slack(event: dict[str, Any]) -> dict[str, Any]:
    base = {"type": "message", "channel": "C1", "user": "U1", "ts": "1700000000.000300"}
    return {"type": "event_callback", "team_id": "T1", "event_id": "Ev1", "event": base | event}


@pytest.mark.parametrize("etype", ["message", "app_mention"])
def test_reply_or_app_mention_in_a_thread_is_a_remembered_comment(etype: str) -> None:
    body = _slack({"type": etype, "text": "<@U9> can you check?",
                   "thread_ts": "1700000000.000100"})
    event = normalize(Provider.SLACK, "t", body)
    assert event.kind is K.COMMENT
    assert (event.facts["thread_ts"], event.facts["channel"]) == ("1700000000.000100", "C1")
    assert (event.facts["memory"], event.facts["message_id"]) == ("add", "1700000000.000300")
    assert event.ref is not None and event.ref.item == "1700000000.000100"
    assert event.mentions == ["U9"]


def test_edit_that_adds_a_mention_is_addressed_to_the_newcomer_only() -> None:
    body = _slack({"subtype": "message_changed", "ts": "1700000009.000000",
                   "message": {"type": "message", "user": "U1", "ts": "1700000000.000300",
                               "text": "<@U7> and <@U9> please look",
                               "thread_ts": "1700000000.000100"},
                   "previous_message": {"user": "U1", "text": "<@U7> please look"}})
    event = normalize(Provider.SLACK, "t", body)
    assert event.kind is K.COMMENT and event.mentions == ["U9"]
    assert (event.facts["memory"], event.facts["message_id"]) == ("edit", "1700000000.000300")
    assert event.ref is not None and event.ref.item == "1700000000.000100"


def test_a_bots_edit_is_ignored_and_not_remembered() -> None:
    body = _slack({"subtype": "message_changed",
                   "message": {"bot_id": "B1", "text": "<@U9> done", "ts": "1.2"},
                   "previous_message": {"bot_id": "B1", "text": "working"}})
    event = normalize(Provider.SLACK, "t", body)
    assert event.kind is K.IGNORE and "bot" in (event.ignore_reason or "")
    assert "memory" not in event.facts


def test_file_share_names_its_files() -> None:
    event = _event(corpus.entry("slack.catalog.message.file_share"))
    assert event.kind is K.NEW_WORK_ITEM
    assert event.facts["file_ids"] and event.facts["file_names"]
