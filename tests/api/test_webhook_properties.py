"""The webhook door under mutated real deliveries: never a 5xx, and a refusal stores nothing.

hypothesis takes corpus deliveries, changes their bodies (values set or deleted, as in the
normalizer tests; bytes corrupted; nesting deepened), their headers (dropped, odd values, bad
timestamps) and their path, signs most of them correctly so they get past the signature check,
and sends each to the real API. Every answer must be below 500, in the API's JSON error shape
when it is a refusal, and the inbox must grow by one row exactly when the answer is 202.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests import corpus
from tests.activities.test_normalize_properties import mutated_bodies
from tests.conftest import TenantFactory

HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
ODD_HEADERS = st.sampled_from(["", "0", "-1", "1" + "0" * 400, "1_700_000_000", "+1", "ping",
                               "application/json; charset=utf-8", "text/plain", "x" * 300])
_fresh = itertools.count()


@st.composite
def deliveries(draw: st.DrawFn) -> dict[str, Any]:
    """One delivery: provider, raw body, headers, whether to sign it, and the path's tenant."""
    provider = draw(st.sampled_from(["github", "slack", "clickup"]))
    body, event_name = draw(mutated_bodies(provider))
    raw = json.dumps(body, ensure_ascii=draw(st.booleans())).encode()
    shape = draw(st.sampled_from(["as is", "as is", "as is", "corrupt", "deep", "not object"]))
    if shape == "corrupt":
        at = draw(st.integers(0, len(raw)))
        junk = draw(st.sampled_from([b"", b"\x00", b"\xff", b"{", b"]", b'"', b"\\", b"\\u0000"]))
        raw = raw[:at] + junk + raw[at + draw(st.integers(0, 3)):]
    elif shape == "deep":
        depth = draw(st.sampled_from([250, 257, 999, 5000]))
        raw = raw[:-1] + b', "x": ' + b"[" * depth + b"]" * depth + b"}"
    elif shape == "not object":
        raw = draw(st.sampled_from([b"[]", b"null", b'"x"', b"1"]))
    headers: dict[str, str] = {"Content-Type": "application/json"}
    if provider == "github":
        name = event_name or ""  # a header carries printable ASCII only
        headers["X-GitHub-Event"] = (name if name and name.isascii() and name.isprintable()
                                     else draw(HEADER_TEXT))
        headers["X-GitHub-Delivery"] = draw(st.sampled_from(["", "", "", "redelivered"]))
    for name in draw(st.lists(st.sampled_from(
            ["Content-Type", "X-GitHub-Event", "X-GitHub-Delivery", "X-Slack-Request-Timestamp"]),
            max_size=draw(st.sampled_from([0, 0, 0, 1, 2])))):
        headers[name] = draw(st.one_of(ODD_HEADERS, HEADER_TEXT))
    tenant = draw(st.sampled_from(["ours"] * 8 + ["a%00", "Upper", "x" * 70, "no-such-tenant"]))
    return {"provider": provider, "raw": raw, "headers": headers, "tenant": tenant,
            "signed": draw(st.sampled_from([True] * 9 + [False]))}


def _sign(provider: str, raw: bytes, headers: dict[str, str]) -> None:
    secret = corpus.secret(provider).encode()
    if provider == "slack":
        stamp = headers.setdefault("X-Slack-Request-Timestamp", str(int(time.time())))
        digest = hmac.new(secret, b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256)
        headers["X-Slack-Signature"] = "v0=" + digest.hexdigest()
    elif provider == "github":
        headers["X-Hub-Signature-256"] = corpus.github_sign(raw, corpus.secret("github"))[
            "X-Hub-Signature-256"]
    else:
        headers["X-Signature"] = hmac.new(secret, raw, hashlib.sha256).hexdigest()


@pytest.fixture
async def tenant(make_tenant: TenantFactory) -> str:
    """One tenant for all the examples of a test."""
    return await make_tenant()


@settings(max_examples=200, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=deliveries())
async def test_mutated_deliveries_get_no_5xx_and_refusals_store_nothing(
    http: httpx.AsyncClient, pool: asyncpg.Pool, tenant: str, case: dict[str, Any]
) -> None:
    headers = dict(case["headers"])
    if case["provider"] == "github" and headers.get("X-GitHub-Delivery") == "":
        headers["X-GitHub-Delivery"] = f"prop-{next(_fresh)}"  # mostly fresh: mostly stored
    if case["signed"]:
        _sign(case["provider"], case["raw"], headers)
    path_tenant = tenant if case["tenant"] == "ours" else case["tenant"]
    before = await pool.fetchval("SELECT count(*) FROM inbox WHERE tenant_id = $1", tenant)
    r = await http.post(f"/webhooks/{case['provider']}/{path_tenant}", content=case["raw"],
                        headers=headers)
    after = await pool.fetchval("SELECT count(*) FROM inbox WHERE tenant_id = $1", tenant)
    event(f"{r.status_code} {r.json().get('error', '')}")
    assert r.status_code < 500, r.text
    assert r.headers["content-type"] == "application/json"
    if r.status_code >= 400:
        assert set(r.json()) == {"error", "detail"}, r.text
    assert after - before == (1 if r.status_code == 202 else 0), (r.status_code, r.text)
    if r.status_code == 202:
        stored = await pool.fetchval("SELECT body FROM inbox WHERE id = $1", r.json()["inbox_id"])
        assert stored == case["raw"]
