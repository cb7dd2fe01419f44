"""Slack slash commands and interactions (form-encoded, signed ``v0``) at the webhook door.

A slash command is stored and answered with a short ephemeral acknowledgement, and reaches the
agents its text names through the real pipeline; a button click (``block_actions``) is stored,
normalized as an interaction and sent to no agent; a bad signature, a malformed form or another
provider's form stores nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest
from starlette.datastructures import Headers
from temporalio.client import Client

from activities.normalize import normalize
from activities.normalize.slack_forms import decode, is_form
from api.errors import ApiError
from api.providers import SlackRules
from tests import corpus
from tests.conftest import TenantFactory
from tests.harness import RecordingAgent, running
from tests.test_pipeline import wait_status
from workers.agent import agent_worker
from workflows.contracts import EventKind, Provider

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slack_forms"
FORM = "application/x-www-form-urlencoded"


def slash_form(text: str, command: str = "/switchboard", **extra: str) -> bytes:
    """A slash command body with the fields Slack sends (its documented example's set)."""
    return urlencode({
        "token": "xyzz0WbapA4vBCDEFasx0q6G", "team_id": "T1DC2JH3J", "team_domain": "acme",
        "channel_id": "C0LAN2Q65", "channel_name": "deploys", "user_id": "U2CERLKJA",
        "user_name": "roadrunner", "command": command, "text": text, "api_app_id": "A0KRD7HC3",
        "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmib",
        "trigger_id": f"{time.time_ns()}.47445629121.{uuid.uuid4().hex}", **extra,
    }).encode()


def block_actions_form(**changes: Any) -> bytes:
    """The block_actions fixture as Slack posts it: one form field, ``payload``."""
    payload = json.loads((FIXTURES / "block_actions.json").read_text()) | changes
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed(raw: bytes, secret: str | None = None, **headers: str) -> dict[str, str]:
    """Form headers with a fresh v0 signature of ``raw``."""
    return {"Content-Type": FORM, **corpus.slack_sign(raw, secret or corpus.secret("slack")),
            **headers}


async def inbox_rows(pool: asyncpg.Pool, tenant: str) -> list[asyncpg.Record]:
    """A tenant's stored deliveries, oldest first."""
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT id, event_name, dedup_key, body FROM inbox WHERE tenant_id = $1 ORDER BY id",
        tenant)
    return rows


def test_slacks_documented_signature_of_a_form_body_verifies() -> None:
    raw = (FIXTURES / "slack_docs_slash_command.form").read_bytes()
    headers = Headers({
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"})
    SlackRules(300).verify(headers, raw, "8f742231b10e8888abcd99yyyzzz85a5", 1531420618.0)
    with pytest.raises(ApiError) as refused:
        SlackRules(300).verify(headers, raw + b"&x=1", "8f742231b10e8888abcd99yyyzzz85a5",
                               1531420618.0)
    assert refused.value.status == 401


async def test_signed_slash_command_reaches_the_alias_members_and_is_acknowledged(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client, pool: asyncpg.Pool,
) -> None:
    member, nested, outsider = (f"sq-{uuid.uuid4().hex[:6]}" for _ in range(3))
    tenant = await make_tenant(agents=(member, nested, outsider), default_agents=(outsider,))
    base = f"/admin/tenants/{tenant}"
    assert (await http.put(f"{base}/aliases/Backend", headers=admin,
                           json={"members": [nested]})).status_code < 300
    assert (await http.put(f"{base}/aliases/AI_Squad", headers=admin,
                           json={"members": [member, "@Backend"]})).status_code < 300
    agents = {i: RecordingAgent(i) for i in (member, nested, outsider)}
    raw = slash_form("@AI_Squad look at the failing deploy")
    async with (running(agent_worker(temporal_client, tenant, member, agents[member].think)),
                running(agent_worker(temporal_client, tenant, nested, agents[nested].think)),
                running(agent_worker(temporal_client, tenant, outsider,
                                     agents[outsider].think))):
        started = time.perf_counter()
        r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=signed(raw))
        ack_ms = (time.perf_counter() - started) * 1000
        assert r.status_code == 200, r.text
        assert r.json() == {"response_type": "ephemeral",
                            "text": "Got it: passing your /switchboard request to @AI_Squad."}
        [row] = await inbox_rows(pool, tenant)
        assert (row["event_name"], row["body"]) == ("slash_command", raw)
        event = await wait_status(http, admin, tenant, row["id"], {"dispatched"}, 2)
    print(f"slash command acknowledged in {ack_ms:.1f} ms")
    assert sorted(event["agent_ids"]) == sorted([member, nested])
    [think] = agents[member].seen
    assert think.event.kind is EventKind.NEW_WORK_ITEM
    assert think.event.text == "@AI_Squad look at the failing deploy"
    assert think.event.facts["command"] == "/switchboard"
    assert think.event.facts["channel"] == "C0LAN2Q65"
    assert think.event.actor is not None and think.event.actor.id == "U2CERLKJA"
    assert len(agents[nested].seen) == 1 and agents[outsider].seen == []


@pytest.mark.parametrize(("case", "build"), [
    ("tampered body", lambda raw: (raw + b"&x=1", signed(raw))),
    ("wrong secret", lambda raw: (raw, signed(raw, secret="not-the-tenants-secret"))),
    ("stale timestamp", lambda raw: (raw, {"Content-Type": FORM, **corpus.slack_sign(
        raw, corpus.secret("slack"), int(time.time()) - 600)})),
    ("no signature", lambda raw: (raw, {"Content-Type": FORM})),
])
async def test_a_bad_signature_on_a_form_is_401_and_stores_nothing(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory, case: str,
    build: Any,
) -> None:
    tenant = await make_tenant()
    for raw in (slash_form("@AI_Squad deploy"), block_actions_form()):
        body, headers = build(raw)
        r = await http.post(f"/webhooks/slack/{tenant}", content=body, headers=headers)
        assert r.status_code == 401, (case, r.text)
        assert set(r.json()) == {"error", "detail"}
    assert await inbox_rows(pool, tenant) == []


@pytest.mark.parametrize("provider", ["github", "clickup"])
async def test_other_providers_forms_stay_415(
    http: httpx.AsyncClient, make_tenant: TenantFactory, provider: str
) -> None:
    tenant = await make_tenant()
    raw = block_actions_form()
    r = await http.post(f"/webhooks/{provider}/{tenant}", content=raw, headers=signed(raw))
    assert (r.status_code, r.json()["error"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize(("case", "raw", "error"), [
    ("not utf-8", b"command=%2Fswitchboard&text=\xff", "malformed_form"),
    ("bad percent utf-8", b"command=%2Fswitchboard&text=%ff&trigger_id=1", "malformed_form"),
    ("pair without =", b"command=%2Fswitchboard&text", "malformed_form"),
    ("empty pair", b"command=%2Fswitchboard&&trigger_id=1", "malformed_form"),
    ("field twice", b"command=%2Fswitchboard&command=%2Fother&trigger_id=1", "malformed_form"),
    ("odd field name", b"command=%2Fswitchboard&%7B=1&trigger_id=1", "malformed_form"),
    ("json body as form", b'{"type": "event_callback"}', "malformed_form"),
    ("empty", b"", "unknown_form"),
    ("neither command nor payload", b"token=x&team_id=T1", "unknown_form"),
    ("no trigger_id", b"command=%2Fswitchboard&text=hi", "missing_trigger_id"),
    ("payload not json", b"payload=%7Bnope", "malformed_json"),
    ("payload not an object", b"payload=%5B%5D", "malformed_json"),
    ("payload too deep", b"payload=" + b"%7B%22a%22%3A" * 300 + b"1" + b"%7D" * 300,
     "too_deep"),
    ("payload without type", b"payload=%7B%22trigger_id%22%3A%221%22%7D", "missing_type"),
    ("nul in trigger_id", b"command=%2Fswitchboard&text=hi&trigger_id=a%00b", "unstorable_text"),
])
async def test_malformed_forms_are_400_and_store_nothing(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory, case: str,
    raw: bytes, error: str,
) -> None:
    tenant = await make_tenant()
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=signed(raw))
    assert (r.status_code, r.json()["error"]) == (400, error), (case, r.text)
    assert await inbox_rows(pool, tenant) == []


async def test_commands_the_tenant_has_not_configured_are_answered_and_stored_nowhere(
    http: httpx.AsyncClient, admin: dict[str, str], pool: asyncpg.Pool,
    make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    assert (await http.get(f"/admin/tenants/{tenant}", headers=admin)).json()[
        "slack_commands"] == ["/switchboard"]
    raw = slash_form("@AI_Squad deploy", command="/ai")
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=signed(raw))
    assert r.status_code == 200
    assert r.json()["response_type"] == "ephemeral"
    assert "/ai is not a Switchboard command" in r.json()["text"]
    assert "/switchboard" in r.json()["text"]
    assert await inbox_rows(pool, tenant) == []

    r = await http.patch(f"/admin/tenants/{tenant}", headers=admin,
                         json={"slack_commands": ["/ai", "/switchboard"]})
    assert (r.status_code, r.json()["slack_commands"]) == (200, ["/ai", "/switchboard"])
    raw = slash_form("@AI_Squad deploy", command="/ai")
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=signed(raw))
    assert r.json()["text"] == "Got it: passing your /ai request to @AI_Squad."
    assert [row["event_name"] for row in await inbox_rows(pool, tenant)] == ["slash_command"]


@pytest.mark.parametrize("names", [
    [], ["switchboard"], ["/Switchboard"], ["/two words"], ["/" + "x" * 32], ["/a", "/a"],
    ["/ok", 7], "/switchboard", ["/x"] * 21,
])
async def test_bad_command_names_are_422_and_change_nothing(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory, names: Any,
) -> None:
    tenant = await make_tenant()
    r = await http.patch(f"/admin/tenants/{tenant}", headers=admin,
                         json={"slack_commands": names})
    assert (r.status_code, set(r.json())) == (422, {"error", "detail"}), (names, r.text)
    shown = (await http.get(f"/admin/tenants/{tenant}", headers=admin)).json()
    assert shown["slack_commands"] == ["/switchboard"]


async def test_a_command_without_text_gets_its_usage_and_ssl_check_a_200(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    raw = slash_form("   ")
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=signed(raw))
    assert r.status_code == 200
    assert "/switchboard @AI_Squad look at the failing deploy" in r.json()["text"]
    raw = b"ssl_check=1&token=xyzz0WbapA4vBCDEFasx0q6G"
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=signed(raw))
    assert r.status_code == 200
    assert await inbox_rows(pool, tenant) == []


async def test_slack_retries_of_a_stored_delivery_are_duplicates(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant()
    url = f"/webhooks/slack/{tenant}"
    raw = slash_form("@AI_Squad look at the failing deploy")
    first = await http.post(url, content=raw, headers=signed(raw))
    await asyncio.sleep(1.1)  # Slack signs each attempt anew, with its own timestamp
    retry = await http.post(url, content=raw, headers=signed(
        raw, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}))
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json() == {"response_type": "ephemeral",
                            "text": "Already received: /switchboard is on its way."}

    event = json.dumps({
        "type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:10]}", "team_id": "T1",
        "event": {"type": "message", "user": "U1", "text": "@AI_Squad hi", "ts": "1.2",
                  "channel": "C1"}}).encode()
    json_headers = {"Content-Type": "application/json"}
    first = await http.post(url, content=event, headers={
        **json_headers, **corpus.slack_sign(event, corpus.secret("slack"))})
    retry = await http.post(url, content=event, headers={
        **json_headers, **corpus.slack_sign(event, corpus.secret("slack")),
        "X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_error"})
    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json()["status"] == "duplicate"

    click = block_actions_form(trigger_id=f"{time.time_ns()}.1.abc")
    answers = [await http.post(url, content=click, headers=signed(click, **{
        "X-Slack-Retry-Num": str(n)})) for n in (0, 1)]
    assert [a.status_code for a in answers] == [200, 200]
    names = [row["event_name"] for row in await inbox_rows(pool, tenant)]
    assert names == ["slash_command", "event_callback/message", "interactive.block_actions"]


async def test_a_button_click_is_stored_normalized_listed_and_sent_to_no_agent(
    http: httpx.AsyncClient, admin: dict[str, str], pool: asyncpg.Pool,
    make_tenant: TenantFactory,
) -> None:
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    tenant = await make_tenant(agents=(agent_id,), default_agents=(agent_id,))
    raw = block_actions_form()
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=signed(raw))
    assert (r.status_code, r.content) == (200, b"")
    [row] = await inbox_rows(pool, tenant)
    assert (row["event_name"], row["body"]) == ("interactive.block_actions", raw)
    event = await wait_status(http, admin, tenant, row["id"], {"ignored", "failed"})
    assert (event["status"], event["kind"], event["agent_ids"]) == ("ignored", "interaction", [])
    assert "approvals" in event["reason"]
    facts = event["event"]["facts"]
    assert (facts["action_id"], facts["value"], facts["block_id"]) == (
        "approve", "approval-42", "approval")
    assert (facts["message_ts"], facts["channel"], facts["user_id"]) == (
        "1548261231.000200", "C0LAN2Q65", "U2CERLKJA")
    listed = (await http.get(f"/admin/tenants/{tenant}/events", headers=admin,
                             params={"kind": "interaction"})).json()
    assert [e["id"] for e in listed] == [row["id"]]


def test_stored_forms_normalize_without_io() -> None:
    raw = slash_form("<@U0AGENT|helper> and @AI_Squad:\nlook at the failing deploy")
    assert is_form("slack", raw) and not is_form("slack", b' {"type": "x"}')
    event = normalize(Provider.SLACK, "t", decode(raw), "slash_command")
    assert event.kind is EventKind.NEW_WORK_ITEM
    assert event.mentions == ["U0AGENT", "AI_Squad"]
    assert event.title == "<@U0AGENT|helper> and @AI_Squad:"
    assert event.ref is not None and (event.ref.container, event.ref.item) == ("C0LAN2Q65", None)
    assert event.facts["response_url"].startswith("https://hooks.slack.com/commands/")
    docs = (FIXTURES / "slack_docs_slash_command.form").read_bytes()
    assert normalize(Provider.SLACK, "t", decode(docs), "slash_command").kind is EventKind.IGNORE
    click = normalize(Provider.SLACK, "t", decode(block_actions_form()),
                      "interactive.block_actions")
    assert click.kind is EventKind.INTERACTION and click.mentions == []
    modal = normalize(Provider.SLACK, "t", {"type": "view_submission"},
                      "interactive.view_submission")
    assert modal.kind is EventKind.IGNORE and "view_submission" in str(modal.ignore_reason)
    odd = normalize(Provider.SLACK, "t", {"command": 7, "text": ["x"]}, "slash_command")
    assert odd.kind is EventKind.IGNORE
