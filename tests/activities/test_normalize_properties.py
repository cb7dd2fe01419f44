"""Normalizers under mutated real payloads: they never raise, and what they return is storable.

hypothesis takes corpus bodies, replaces or deletes a few of their values (any JSON value,
strings with NUL and markup, huge numbers, nested containers) and checks each normalizer's
promise: a ``StandardEvent`` for every well-formed object, no NUL in any string of it, flat facts,
and an event that survives the trips it takes (Temporal's pydantic JSON, PostgreSQL jsonb).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from activities.normalize import normalize
from tests import corpus
from workflows.contracts import Provider, StandardEvent

ENTRIES = corpus.entries()
BODIES = {e["id"]: json.loads(corpus.body(e)) for e in ENTRIES}
EVENT_NAMES = sorted({e["headers"].get("X-GitHub-Event", "") for e in ENTRIES} - {""})

Path = tuple[str | int, ...]

texts = st.one_of(
    st.sampled_from(["", "\x00", "a\x00b", "<@U123|x\x00>", "@a\x00b", "refs/heads/\x00",
                     "2024-01-01T00:00:00\x00Z", "1e400", "-1", "\u2028", "\\u0000"]),
    st.text(max_size=20),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**80, 10**80),
                    st.floats(allow_nan=False), texts)
# Values of the wrong shape for almost any field (hypothesis alone rarely draws an int for a list).
ODD: list[Any] = [None, 0, -1, 10**30, 1e300, True, "", "\x00", "a\x00b", [], [1], ["\x00"],
                  [{}], {}, {"a": {"b": [1]}}]
json_values = st.one_of(st.sampled_from(ODD), st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
))


# The keys each normalizer reads: a mutation sets or deletes one of them wherever an object holds
# it (or in any object, so that absent fields get added too: a pull_request inside an issue).
READ_KEYS = {
    "github": ["action", "after", "assignee", "assignees", "base", "before", "body", "comment",
               "commits", "compare", "created", "created_at", "deleted", "draft", "forced",
               "full_name", "head", "head_commit", "hook_id", "html_url", "id", "issue", "label",
               "labels", "login", "merged", "message", "name", "number", "pull_request",
               "pusher", "ref", "repository", "review", "sender", "starred_at", "state",
               "submitted_at", "timestamp", "title", "type", "updated_at", "zen"],
    "slack": ["bot_id", "challenge", "channel", "channel_type", "event", "event_id",
              "event_time", "event_ts", "item", "item_user", "reaction", "subtype", "team_id",
              "text", "thread_ts", "ts", "type", "user", "username"],
    "clickup": ["after", "before", "comment", "date", "event", "field", "history_items", "id",
                "list_id", "parent_id", "priority", "status", "task_id", "text_content", "type",
                "user", "username", "webhook_id"],
}


def _containers(node: Any, at: Path = ()) -> list[Path]:
    """The path of every object and array inside a body, the body itself first."""
    found: list[Path] = []
    if isinstance(node, dict):
        found.append(at)
        for key, value in node.items():
            found += _containers(value, (*at, key))
    elif isinstance(node, list):
        found.append(at)
        for i, value in enumerate(node):
            found += _containers(value, (*at, i))
    return found


def _at(body: Any, path: Path) -> Any:
    for step in path:
        body = body[step]
    return body


def mutated_bodies(provider: str) -> st.SearchStrategy[tuple[dict[str, Any], str | None]]:
    """Corpus bodies of one provider with up to six values set or deleted, and an event name."""
    entries = [e for e in ENTRIES if e["provider"] == provider]
    names = st.one_of(st.sampled_from(EVENT_NAMES), texts, st.none())

    @st.composite
    def build(draw: st.DrawFn) -> tuple[dict[str, Any], str | None]:
        entry = draw(st.sampled_from(entries))
        body = json.loads(json.dumps(BODIES[entry["id"]]))
        for _ in range(draw(st.integers(1, 6))):
            key = draw(st.sampled_from(READ_KEYS[provider]))
            containers = _containers(body)
            holding = [c for c in containers if isinstance(h := _at(body, c), dict) and key in h]
            target = _at(body, draw(st.sampled_from(holding or containers)
                                    if draw(st.integers(0, 3)) else st.sampled_from(containers)))
            value, delete = copy.deepcopy(draw(json_values)), draw(st.integers(0, 5)) == 0
            if isinstance(target, dict):
                if delete:
                    target.pop(key, None)
                else:
                    target[key] = value
            elif target:
                target[draw(st.integers(0, len(target) - 1))] = value
            else:
                target.append(value)
        name = entry["headers"].get("X-GitHub-Event") if provider == "github" else None
        return body, draw(st.one_of(st.just(name), names))

    return build()


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _check(provider: str, body: dict[str, Any], event_name: str | None) -> None:
    event = normalize(Provider(provider), "tenant-1", body, event_name)
    dumped = event.model_dump(mode="json")
    assert not [s for s in _strings(dumped) if "\x00" in s]
    for value in event.facts.values():
        assert isinstance(value, str | int | float | bool | list), value
        assert not isinstance(value, list) or all(not isinstance(v, list | dict) for v in value)
    # The trips the event takes: Temporal's pydantic JSON payload, and json.dumps into jsonb.
    assert StandardEvent.model_validate_json(event.model_dump_json()) == event
    json.dumps(dumped)


BOUNDED = settings(max_examples=300, derandomize=True, deadline=None, database=None)


@BOUNDED
@given(mutated_bodies("github"))
def test_mutated_github_payloads_normalize_to_storable_events(
    case: tuple[dict[str, Any], str | None],
) -> None:
    _check("github", *case)


@BOUNDED
@given(mutated_bodies("slack"))
def test_mutated_slack_payloads_normalize_to_storable_events(
    case: tuple[dict[str, Any], str | None],
) -> None:
    _check("slack", *case)


@BOUNDED
@given(mutated_bodies("clickup"))
def test_mutated_clickup_payloads_normalize_to_storable_events(
    case: tuple[dict[str, Any], str | None],
) -> None:
    _check("clickup", *case)


def test_every_field_read_set_to_each_odd_value_normalizes() -> None:
    """Exhaustive for one change at a time: each read key, where it is or one level down."""
    cases = 0
    for entry in ENTRIES:
        provider, base = entry["provider"], BODIES[entry["id"]]
        name = entry["headers"].get("X-GitHub-Event") if provider == "github" else None
        objects = [c for c in _containers(base) if isinstance(_at(base, c), dict)]
        for key in READ_KEYS[provider]:
            for where in [c for c in objects if len(c) <= 1 or key in _at(base, c)]:
                for value in [*ODD, "DELETE"]:
                    body = json.loads(json.dumps(base))
                    target = _at(body, where)
                    if value == "DELETE":
                        target.pop(key, None)
                    else:
                        target[key] = copy.deepcopy(value)
                    _check(provider, body, name)
                    cases += 1
    assert cases > 5000
