"""Slack forms at the door under mutation: never a 5xx, a refusal stores nothing, and whatever
is stored decodes and normalizes in the pipeline without raising.

hypothesis takes a slash command and a button click as Slack sends them, sets, deletes, repeats
or renames their fields (values with NUL, ``&``, ``=``, ``%``, markup, any unicode), mutates the
interaction's JSON, corrupts the raw bytes, signs most of them correctly and posts each to the
real API.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from activities.normalize import normalize
from activities.normalize.slack_forms import decode, is_form
from tests import corpus
from tests.activities.test_normalize_properties import ODD, json_values
from tests.api.test_slack_forms import FIXTURES, FORM, slash_form
from tests.conftest import TenantFactory
from workflows.contracts import Provider

TEXTS = st.one_of(st.sampled_from(["", "\x00", "a&b=c", "100%", "%ff", "<@U1|x>", "@AI_Squad",
                                   "/switchboard", "{", "\u2028", "é"]), st.text(max_size=20))
NAMES = st.one_of(st.sampled_from(["command", "text", "trigger_id", "payload", "ssl_check",
                                   "user_id", "channel_id", "Command", "{", "a b", ""]),
                  st.text(max_size=8))
JUNK = st.sampled_from([b"", b"&", b"=", b"&&", b"%", b"%ff", b"\xff", b"{", b"%00", b"+"])


@st.composite
def forms(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A form body, mostly close to what Slack sends, and whether to sign it."""
    if draw(st.booleans()):
        command = slash_form(draw(TEXTS) or "@AI_Squad deploy").decode()
        pairs = parse_qsl(command, keep_blank_values=True)
    else:
        payload = json.loads((FIXTURES / "block_actions.json").read_text())
        payload["trigger_id"] = f"{time.time_ns()}.1.p"
        for _ in range(draw(st.integers(0, 3))):
            key = draw(st.sampled_from(["type", "trigger_id", "actions", "user", "channel",
                                        "container", "message", "team", "view"]))
            if draw(st.booleans()):
                payload[key] = draw(st.one_of(st.sampled_from(ODD), json_values))
            else:
                payload.pop(key, None)
        pairs = [("payload", json.dumps(payload))]
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(pairs)))
        choice = draw(st.sampled_from(["set", "delete", "repeat", "add"]))
        if choice == "set" and pairs:
            name = pairs[at % len(pairs)][0]
            pairs[at % len(pairs)] = (name, draw(TEXTS))
        elif choice == "delete" and pairs:
            pairs.pop(at % len(pairs))
        elif choice == "repeat" and pairs:
            pairs.append(pairs[at % len(pairs)])
        else:
            pairs.insert(at, (draw(NAMES), draw(TEXTS)))
    raw = urlencode(pairs, quote_via=quote).encode()
    if draw(st.sampled_from([False] * 3 + [True])):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(JUNK) + raw[at + draw(st.integers(0, 2)):]
    return raw, draw(st.sampled_from([True] * 9 + [False]))


@pytest.fixture
async def tenant(make_tenant: TenantFactory) -> str:
    """One tenant for all the examples of a test."""
    return await make_tenant()


@settings(max_examples=150, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=forms())
async def test_mutated_forms_get_no_5xx_refusals_store_nothing_and_stored_ones_normalize(
    http: httpx.AsyncClient, pool: asyncpg.Pool, tenant: str, case: tuple[bytes, bool]
) -> None:
    raw, sign = case
    headers = {"Content-Type": FORM}
    if sign:
        headers |= corpus.slack_sign(raw, corpus.secret("slack"))
    count = "SELECT count(*) FROM inbox WHERE tenant_id = $1"
    before = await pool.fetchval(count, tenant)
    r = await http.post(f"/webhooks/slack/{tenant}", content=raw, headers=headers)
    after = await pool.fetchval(count, tenant)
    event(f"{r.status_code} {r.json().get('error', '') if r.content else 'empty'}")
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert set(r.json()) == {"error", "detail"}, r.text
        assert after == before
        return
    assert r.status_code == 200 and after - before in (0, 1)
    if after > before:
        row = await pool.fetchrow("SELECT body, event_name FROM inbox WHERE tenant_id = $1"
                                  " ORDER BY id DESC LIMIT 1", tenant)
        assert row["body"] == raw and is_form("slack", raw)
        got: Any = normalize(Provider.SLACK, tenant, decode(raw), row["event_name"])
        assert got.kind.value in {"new_work_item", "interaction", "ignore"}
