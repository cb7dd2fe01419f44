"""Webhook ingestion at the door: signatures, errors, handshakes, dedup — and nothing lost."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests import corpus
from tests.conftest import TenantFactory

GITHUB_ISSUE = corpus.entry("github.issues.opened")
SLACK_MENTION = corpus.entry("slack.app_mention")
CLICKUP_TASK = corpus.entry("clickup.taskCreated")


async def inbox_rows(pool: asyncpg.Pool, tenant: str) -> int:
    """How many deliveries a tenant has in the inbox."""
    count: int = await pool.fetchval("SELECT count(*) FROM inbox WHERE tenant_id = $1", tenant)
    return count


async def post(http: httpx.AsyncClient, provider: str, tenant: str, raw: bytes,
               headers: dict[str, str]) -> httpx.Response:
    return await http.post(f"/webhooks/{provider}/{tenant}", content=raw, headers=headers)


@pytest.mark.parametrize("e", [GITHUB_ISSUE, SLACK_MENTION, CLICKUP_TASK], ids=lambda e: e["id"])
async def test_signed_delivery_is_committed_then_accepted(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory, e: dict[str, object]
) -> None:
    tenant = await make_tenant()
    raw, headers = corpus.live_request(e)
    r = await post(http, str(e["provider"]), tenant, raw, headers)
    assert r.status_code == 202, r.text
    stored = await pool.fetchrow("SELECT body, dedup_key FROM inbox WHERE id = $1",
                                 r.json()["inbox_id"])
    assert stored["body"] == raw
    assert r.json()["workflow_id"] == f"event/{tenant}/{e['provider']}/{stored['dedup_key']}"


async def test_redelivery_is_answered_200_and_stored_once(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    raw, headers = corpus.live_request(GITHUB_ISSUE)
    first = await post(http, "github", tenant, raw, headers)
    again = await post(http, "github", tenant, raw, headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["status"] == "duplicate"
    assert await inbox_rows(pool, tenant) == 1


async def test_same_delivery_for_two_tenants_is_two_events(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    a, b = await make_tenant(), await make_tenant()
    raw, headers = corpus.live_request(GITHUB_ISSUE)
    assert (await post(http, "github", a, raw, headers)).status_code == 202
    assert (await post(http, "github", b, raw, headers)).status_code == 202


def _tamper(e: dict[str, object]) -> tuple[bytes, dict[str, str]]:
    raw, headers = corpus.live_request(e)
    return raw.replace(b"e", b"E", 1), headers


@pytest.mark.parametrize(
    ("case", "e", "build", "code"),
    [
        ("github no signature", GITHUB_ISSUE,
         lambda: (corpus.body(GITHUB_ISSUE), {k: v for k, v in GITHUB_ISSUE["headers"].items()
                                             if not k.startswith("X-Hub-Signature")}),
         "missing_signature"),
        ("github tampered body", GITHUB_ISSUE, lambda: _tamper(GITHUB_ISSUE), "invalid_signature"),
        ("slack tampered body", SLACK_MENTION, lambda: _tamper(SLACK_MENTION),
         "invalid_signature"),
        ("slack stale timestamp", SLACK_MENTION,
         lambda: (corpus.body(SLACK_MENTION), dict(SLACK_MENTION["headers"])), "stale_timestamp"),
        ("slack future timestamp", SLACK_MENTION,
         lambda: (corpus.body(SLACK_MENTION),
                  {"Content-Type": "application/json",
                   **corpus.slack_sign(corpus.body(SLACK_MENTION), corpus.secret("slack"),
                                       ts=4102444800)}),
         "stale_timestamp"),
        ("slack no timestamp", SLACK_MENTION,
         lambda: (corpus.body(SLACK_MENTION),
                  {"Content-Type": "application/json",
                   "X-Slack-Signature": SLACK_MENTION["headers"]["X-Slack-Signature"]}),
         "missing_signature"),
        ("clickup tampered body", CLICKUP_TASK, lambda: _tamper(CLICKUP_TASK),
         "invalid_signature"),
        ("clickup signed with another secret", CLICKUP_TASK,
         lambda: (corpus.body(CLICKUP_TASK),
                  {"Content-Type": "application/json",
                   **corpus.clickup_sign(corpus.body(CLICKUP_TASK), "not-the-secret")}),
         "invalid_signature"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_bad_signatures_are_401_and_store_nothing(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory,
    case: str, e: dict[str, object], build: object, code: str,
) -> None:
    tenant = await make_tenant()
    raw, headers = build()  # type: ignore[operator]
    r = await post(http, str(e["provider"]), tenant, raw, headers)
    assert r.status_code == 401, r.text
    assert r.json()["error"] == code
    assert r.json()["detail"]
    assert await inbox_rows(pool, tenant) == 0


@pytest.mark.parametrize("raw", [
    b"{not json", b"[1, 2]", b"\xff\xfe",
    b'{"issue": {"labels": [1, 2,, 3]}}', b'{"issue": {"title": "caf\xe9"}}', b'{"zen": "x"} {}',
], ids=["syntax", "array", "not-utf8", "syntax-deep-inside", "not-utf8-deep-inside", "trailing"])
async def test_malformed_json_signed_correctly_is_400(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory, raw: bytes
) -> None:
    tenant = await make_tenant()
    headers = {**GITHUB_ISSUE["headers"], **corpus.github_sign(raw, corpus.secret("github"))}
    r = await post(http, "github", tenant, raw, headers)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "malformed_json"
    assert await inbox_rows(pool, tenant) == 0


async def test_missing_delivery_identity_is_400(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    raw = corpus.body(GITHUB_ISSUE)
    headers = {k: v for k, v in GITHUB_ISSUE["headers"].items() if k != "X-GitHub-Delivery"}
    r = await post(http, "github", tenant, raw, headers)
    assert r.status_code == 400
    assert "X-GitHub-Delivery" in r.json()["detail"]
    slack_raw = json.dumps({"type": "event_callback", "event": {"type": "message"}}).encode()
    r = await post(http, "slack", tenant, slack_raw,
                   {"Content-Type": "application/json",
                    **corpus.slack_sign(slack_raw, corpus.secret("slack"))})
    assert (r.status_code, r.json()["error"]) == (400, "missing_event_id")
    assert await inbox_rows(pool, tenant) == 0


async def test_unknown_tenant_and_provider_are_404(
    http: httpx.AsyncClient, make_tenant: TenantFactory, admin: dict[str, str]
) -> None:
    raw, headers = corpus.live_request(GITHUB_ISSUE)
    r = await post(http, "github", "no-such-tenant", raw, headers)
    assert (r.status_code, r.json()["error"]) == (404, "unknown_tenant")
    tenant = await make_tenant()
    r = await post(http, "gitlab", tenant, raw, headers)
    assert (r.status_code, r.json()["error"]) == (404, "unknown_provider")
    await http.delete(f"/admin/tenants/{tenant}/integrations/github", headers=admin)
    r = await post(http, "github", tenant, raw, headers)
    assert (r.status_code, r.json()["error"]) == (404, "integration_not_configured")


async def test_oversized_body_is_413(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    raw = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    headers = {**GITHUB_ISSUE["headers"], **corpus.github_sign(raw, corpus.secret("github"))}
    r = await post(http, "github", tenant, raw, headers)
    assert (r.status_code, r.json()["error"]) == (413, "body_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds too
        for _ in range(20):
            yield b"x" * 65536

    r = await http.post(f"/webhooks/github/{tenant}", content=chunks(), headers=headers)
    assert (r.status_code, r.json()["error"]) == (413, "body_too_large")
    assert await inbox_rows(pool, tenant) == 0


async def test_not_json_content_type_is_415(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    raw = b"payload=%7B%7D"
    headers = {**GITHUB_ISSUE["headers"], "Content-Type": "application/x-www-form-urlencoded",
               **corpus.github_sign(raw, corpus.secret("github"))}
    r = await post(http, "github", tenant, raw, headers)
    assert (r.status_code, r.json()["error"]) == (415, "unsupported_media_type")
    assert await inbox_rows(pool, tenant) == 0


async def test_handshakes_are_answered_and_store_nothing(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    slack = corpus.entry("slack.url_verification")
    raw, headers = corpus.live_request(slack)
    r = await post(http, "slack", tenant, raw, headers)
    assert r.status_code == slack["expect"]["response"]["status"]
    assert slack["expect"]["response"]["body_contains"] in r.text
    ping = corpus.entry("github.ping")
    raw, headers = corpus.live_request(ping)
    r = await post(http, "github", tenant, raw, headers)
    assert r.status_code == ping["expect"]["response"]["status"]
    assert await inbox_rows(pool, tenant) == 0


async def test_url_verification_needs_a_valid_signature(
    http: httpx.AsyncClient, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    slack = corpus.entry("slack.url_verification")
    raw = corpus.body(slack)
    r = await post(http, "slack", tenant, raw,
                   {"Content-Type": "application/json",
                    **corpus.slack_sign(raw, "someone-elses-secret")})
    assert r.status_code == 401
    assert "3eZbrw1aBm2r" not in r.text
