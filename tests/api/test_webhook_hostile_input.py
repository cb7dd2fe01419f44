"""Hostile input at the webhook door (issue #10): precise 4xx, never a 500, nothing stored.

Each test replays one reproduction from the issue against the real API over HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from starlette.datastructures import Headers

from api.errors import ApiError
from api.providers import SlackRules
from tests import corpus
from tests.api.test_webhooks import inbox_rows, post
from tests.conftest import TenantFactory
from tests.test_pipeline import wait_status

GITHUB_ISSUE = corpus.entry("github.issues.opened")


def _slack_headers(raw: bytes, stamp: str, secret: str | None = None) -> dict[str, str]:
    """Slack headers signed over ``stamp`` exactly as given (not re-formatted)."""
    key = (secret or corpus.secret("slack")).encode()
    digest = hmac.new(key, b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest}"}


def _github_headers(raw: bytes, delivery: str) -> dict[str, str]:
    return {**GITHUB_ISSUE["headers"], "X-GitHub-Delivery": delivery,
            **corpus.github_sign(raw, corpus.secret("github"))}


async def test_nul_in_a_slack_event_id_is_400_and_spares_the_batch_it_would_have_joined(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory
) -> None:
    poisoner, victim = await make_tenant(), await make_tenant()
    poison = json.dumps({"type": "event_callback", "event_id": "Ev\u0000x",
                         "event": {"type": "app_mention"}}).encode()
    raw = corpus.body(GITHUB_ISSUE)

    async def valid(i: int) -> httpx.Response:
        return await post(http, "github", victim, raw, _github_headers(raw, f"d-{i}"))

    async def poisoned() -> httpx.Response:
        await asyncio.sleep(0.01)  # lands while the valid ones are being written
        return await post(http, "slack", poisoner, poison,
                          _slack_headers(poison, str(_now())))

    async with asyncio.TaskGroup() as tg:
        valid_tasks = [tg.create_task(valid(i)) for i in range(150)]
        bad = tg.create_task(poisoned())
    assert (bad.result().status_code, bad.result().json()["error"]) == (400, "unstorable_text")
    statuses = [t.result().status_code for t in valid_tasks]
    assert statuses.count(202) == 150, statuses
    assert await inbox_rows(pool, victim) == 150
    assert await inbox_rows(pool, poisoner) == 0


def _now() -> int:
    return int(time.time())


@pytest.mark.parametrize("stamp", ["1" + "0" * 400, "{now:_}", "+{now}"],
                         ids=["huge", "underscores", "plus-sign"])
async def test_slack_timestamp_must_be_plain_digits(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory, stamp: str
) -> None:
    tenant = await make_tenant()
    raw = corpus.body(corpus.entry("slack.app_mention"))
    headers = _slack_headers(raw, stamp.format(now=_now()))  # correctly signed, all of them
    r = await post(http, "slack", tenant, raw, headers)
    assert (r.status_code, r.json()["error"]) == (401, "invalid_timestamp"), r.text
    assert await inbox_rows(pool, tenant) == 0


@pytest.mark.parametrize("stamp", ["\u00b2", "\u00b9\u00b2", " 1", "1 ", "", "-1", "0x1f"])
def test_slack_timestamp_that_is_not_ascii_digits_is_refused_before_the_signature(
    stamp: str
) -> None:
    rules = SlackRules(300)
    headers = Headers({"X-Slack-Signature": "v0=anything",
                       "X-Slack-Request-Timestamp": stamp})
    with pytest.raises(ApiError) as err:
        rules.verify(headers, b"{}", "secret", time.time())
    assert err.value.status == 401
    assert err.value.code in ("invalid_timestamp", "missing_signature")


@pytest.mark.parametrize("path_tenant", ["a%00", "a%00b", "Upper", "x" * 64, "-lead", "a%0A"])
async def test_malformed_tenant_in_the_path_is_404(
    http: httpx.AsyncClient, path_tenant: str
) -> None:
    raw, headers = corpus.live_request(GITHUB_ISSUE)
    r = await http.post(f"/webhooks/github/{path_tenant}", content=raw, headers=headers)
    assert (r.status_code, r.json()["error"]) == (404, "unknown_tenant"), r.text


@pytest.mark.parametrize("where", ["zen", "issue"])  # a field the door builds; one it skips
@pytest.mark.parametrize("depth", [300, 1200, 100_000])
async def test_too_deeply_nested_json_is_400(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory,
    where: str, depth: int,
) -> None:
    tenant = await make_tenant()
    raw = b'{"' + where.encode() + b'": ' + b"[" * depth + b"]" * depth + b"}"
    r = await post(http, "github", tenant, raw, _github_headers(raw, f"deep-{where}-{depth}"))
    assert (r.status_code, r.json()["error"]) == (400, "too_deep"), r.text
    assert await inbox_rows(pool, tenant) == 0


async def test_deep_but_reasonable_nesting_is_accepted(
    http: httpx.AsyncClient, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()
    raw = b'{"issue": ' + b'{"a": ' * 100 + b"1" + b"}" * 100 + b"}"
    r = await post(http, "github", tenant, raw, _github_headers(raw, "deep-ok"))
    assert r.status_code == 202, r.text


@pytest.mark.parametrize("where", ["zen", "issue"])  # a field the door builds; one it skips
async def test_an_integer_longer_than_the_pipeline_reads_is_400(
    http: httpx.AsyncClient, pool: asyncpg.Pool, make_tenant: TenantFactory, where: str,
) -> None:
    tenant = await make_tenant()
    raw = corpus.body(GITHUB_ISSUE).rstrip()[:-1] + b', "' + where.encode() + b'": -1' \
        + b"0" * 5000 + b"}"  # valid JSON; json.loads in the pipeline refuses over 4,300 digits
    r = await post(http, "github", tenant, raw, _github_headers(raw, f"long-int-{where}"))
    assert (r.status_code, r.json()["error"]) == (400, "integer_too_long"), r.text
    assert "5,001 digits" in r.json()["detail"]
    assert await inbox_rows(pool, tenant) == 0


async def test_absurd_content_length_is_a_json_413(api_url: str, make_tenant: TenantFactory
                                                   ) -> None:
    tenant = await make_tenant()
    url = urlsplit(api_url)
    assert url.hostname is not None and url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(f"POST /webhooks/github/{tenant} HTTP/1.1\r\nHost: x\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {10**23}\r\n\r\n{{}}"
                     .encode())
        await writer.drain()
        response = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), response
    assert b"application/json" in head.lower()
    assert json.loads(body)["error"] == "body_too_large"


async def test_nul_in_an_issue_title_is_stored_and_processed_without_it(
    http: httpx.AsyncClient, pool: asyncpg.Pool, admin: dict[str, str],
    make_tenant: TenantFactory,
) -> None:
    tenant = await make_tenant(agents=("nobody",))
    payload: dict[str, Any] = json.loads(corpus.body(GITHUB_ISSUE))
    payload["issue"]["title"] = "Crash on \u0000 in input"
    payload["issue"]["body"] = "steps:\u0000 paste a NUL"
    raw = json.dumps(payload).encode()
    r = await post(http, "github", tenant, raw, _github_headers(raw, "nul-title"))
    assert r.status_code == 202, r.text
    event = await wait_status(http, admin, tenant, r.json()["inbox_id"],
                              {"ignored", "dispatched", "failed"})
    assert event["status"] != "failed", event
    assert event["event"]["title"] == "Crash on  in input"
    stored = await pool.fetchval("SELECT body FROM inbox WHERE id = $1", r.json()["inbox_id"])
    assert stored == raw  # the raw delivery is kept byte for byte
