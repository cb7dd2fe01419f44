"""Payload encryption: Temporal's history holds no event body, prompt or answer in plaintext,
and the codec endpoint opens them for the super-admin only.

The whole suite runs sealed (tests/harness.py ``TEST_PAYLOADS``); these tests look inside.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from typing import Any

import httpx
import pytest
from google.protobuf.message import Message
from pydantic import SecretStr, ValidationError
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Worker

from infra.codec import ENCODING, KEY_ID, AesGcmCodec, PayloadKeyError, build_codec
from infra.settings import PayloadSettings
from tests import corpus
from tests.admin import bearer
from tests.conftest import TenantFactory
from tests.harness import running
from workflows import search
from workflows.contracts import ThinkInput, ThinkOutput, Usage
from workflows.ids import agent_task_queue, event_workflow_id
from workflows.names import THINK_ACTIVITY

PASSWORD = "correct horse battery staple 42"


def _key(kid: str) -> tuple[str, bytes]:
    return kid, os.urandom(32)


def _ring_text(*ring: tuple[str, bytes]) -> str:
    return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in ring)


async def test_rotation_old_keys_open_new_key_seals_tampering_and_unknown_keys_refused() -> None:
    old, new = _key("k-2025"), _key("k-2026")
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"text": "ship it"}')
    [sealed_old] = await AesGcmCodec([old]).encode([plain])
    rotated = build_codec(PayloadSettings(keys=SecretStr(_ring_text(new, old))))
    assert rotated is not None
    [sealed_new] = await rotated.encode([plain])
    assert sealed_new.metadata[KEY_ID] == b"k-2026" and sealed_new.metadata["encoding"] == ENCODING
    assert b"ship it" not in sealed_new.SerializeToString()
    assert await rotated.decode([sealed_old, sealed_new, plain]) == [plain, plain, plain]
    with pytest.raises(PayloadKeyError, match="k-2026"):  # the old ring cannot read the new key
        await AesGcmCodec([old]).decode([sealed_new])
    forged = Payload(metadata={"encoding": ENCODING, KEY_ID: b"k-2025"}, data=sealed_new.data)
    with pytest.raises(PayloadKeyError, match="authentication"):  # key id bound to the data
        await rotated.decode([forged])


@pytest.mark.parametrize(("text", "why"), [
    ("k1", "<id>:<base64>"), ("k1:notbase64!", "not base64"),
    (f"k1:{base64.b64encode(b'short').decode()}", "32 bytes"),
    (_ring_text(("k1", b"a" * 32), ("k1", b"b" * 32)), "twice"), (" , ", "empty"),
])
def test_malformed_keys_are_refused_without_echoing_them(text: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as err:
        PayloadSettings(keys=SecretStr(text))
    assert base64.b64encode(b"a" * 32).decode() not in str(err.value)


def _payloads(message: Message, path: tuple[str, ...] = ()
              ) -> list[tuple[tuple[str, ...], Payload]]:
    """Every Payload anywhere inside a history event, with the field names (and map keys)
    leading to it."""
    found: list[tuple[tuple[str, ...], Payload]] = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        items: list[tuple[tuple[str, ...], Any]]
        if field.message_type.GetOptions().map_entry:
            items = [((field.name, key), item) for key, item in value.items()]
        else:
            items = [((field.name,), item)
                     for item in (list(value) if field.is_repeated else [value])]
        for where, item in items:
            if isinstance(item, Payload):
                found.append(((*path, *where), item))
            elif isinstance(item, Message):
                found.extend(_payloads(item, (*path, *where)))
    return found


# What stays plaintext by design: search attributes (ids and statuses, no content) and the SDK's
# own markers' metadata (patch ids; a local activity's seq, type and times: its result is sealed).
def _plaintext_by_design(path: tuple[str, ...]) -> bool:
    return "search_attributes" in path or (
        "marker_recorded_event_attributes" in path and path[-2] in ("data", "patch-data"))


def _delivery(marker: str) -> tuple[str, bytes, dict[str, str]]:
    entry = corpus.entry("github.issues.opened")
    payload: dict[str, Any] = json.loads(corpus.body(entry))
    payload["issue"] = payload["issue"] | {"title": f"Checkout broken {marker}",
                                           "body": f"Steps: pay with card {marker}",
                                           "number": 900000 + int(marker[-4:], 16)}
    raw = json.dumps(payload).encode()
    delivery = str(uuid.uuid4())
    headers = (dict(entry["headers"]) | corpus.github_sign(raw, corpus.secret("github"))
               | {"X-GitHub-Delivery": delivery})
    return delivery, raw, headers


async def _histories(client: Client, tenant: str, run_id: str,
                     event_id: str) -> list[WorkflowHistory]:
    ids = {event_id, run_id}
    async for wf in client.list_workflows(f"{search.TENANT.name} = '{tenant}'"):
        ids.add(wf.id)  # the session's too, when the agent keeps one
    return [await client.get_workflow_handle(wid).fetch_history() for wid in sorted(ids)]


async def test_history_holds_no_body_prompt_or_answer_and_the_codec_opens_them_for_admins(
    http: httpx.AsyncClient, admin: dict[str, str], make_tenant: TenantFactory,
    temporal_client: Client,
) -> None:
    agent = f"sealed-{uuid.uuid4().hex[:6]}"
    tenant = await make_tenant(agents=(agent,), default_agents=(agent,))
    marker = f"zq-body-{uuid.uuid4().hex[:12]}"
    answer = f"zq-answer-{uuid.uuid4().hex[:12]}"
    seen: list[ThinkInput] = []

    @activity.defn(name=THINK_ACTIVITY)
    async def think(inp: ThinkInput) -> ThinkOutput:
        seen.append(inp)
        return ThinkOutput(final=answer, usage=Usage(model="m", input_tokens=1, output_tokens=1))

    delivery, raw, headers = _delivery(marker)
    async with running(Worker(temporal_client, task_queue=agent_task_queue(tenant, agent),
                              activities=[think])):
        r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
        assert r.status_code == 202, r.text
        async with asyncio.timeout(30):
            while not seen:
                await asyncio.sleep(0.05)
        assert marker in (seen[0].event.text or "") + (seen[0].event.title or "")
        await temporal_client.get_workflow_handle(seen[0].run_id).result()
    event_id = event_workflow_id(tenant, "github", delivery)
    histories = await _histories(temporal_client, tenant, seen[0].run_id, event_id)
    assert len(histories) >= 2
    payloads = [p for h in histories for e in h.events for p in _payloads(e)]
    for history in histories:  # raw bytes: JSON would show payload data in base64 anyway
        raw_history = History(events=history.events).SerializeToString()
        assert marker.encode() not in raw_history and answer.encode() not in raw_history
        assert marker not in history.to_json() and answer not in history.to_json()
    sealed = [p for where, p in payloads if not _plaintext_by_design(where)]
    assert sealed and all(p.metadata["encoding"] == ENCODING for p in sealed), [
        where for where, p in payloads
        if not _plaintext_by_design(where) and p.metadata["encoding"] != ENCODING]

    body = {"payloads": [{"metadata": {k: base64.b64encode(v).decode()
                                       for k, v in p.metadata.items()},
                          "data": base64.b64encode(p.data).decode()} for p in sealed]}
    r = await http.post("/codec/decode", json=body, headers=admin | {
        "Origin": "http://localhost:8233", "X-Namespace": "default"})
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "http://localhost:8233"
    opened = b"".join(base64.b64decode(p["data"]) for p in r.json()["payloads"])
    assert marker.encode() in opened and answer.encode() in opened

    assert (await http.post("/codec/decode", json=body)).status_code == 401
    email = f"codec-{uuid.uuid4().hex[:8]}@example.com"
    r = await http.post("/admin/users", headers=admin, json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = await http.put(f"/admin/tenants/{tenant}/members/{email}", headers=admin,
                       json={"role": "owner"})
    assert r.status_code == 200, r.text
    login = await http.post("/auth/login", json={"email": email, "password": PASSWORD})
    owner = bearer(login.json()["access_token"])
    r = await http.post("/codec/decode", json=body, headers=owner)  # even the tenant's owner
    assert r.status_code == 403 and marker not in r.text


async def test_codec_endpoint_answers_the_temporal_ui_preflight_and_round_trips(
    http: httpx.AsyncClient, admin: dict[str, str],
) -> None:
    r = await http.options("/codec/decode", headers={
        "Origin": "http://127.0.0.1:8233", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == \
        "http://127.0.0.1:8233"
    r = await http.options("/codec/decode", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers
    plain = {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
             "data": base64.b64encode(b'"hello"').decode()}
    sealed = (await http.post("/codec/encode", json={"payloads": [plain]}, headers=admin)).json()
    assert base64.b64decode(sealed["payloads"][0]["metadata"]["encoding"]) == ENCODING
    opened = (await http.post("/codec/decode", json=sealed, headers=admin)).json()
    assert opened == {"payloads": [plain]}
    r = await http.post("/codec/decode", headers=admin, json={"payloads": [{"data": "%%"}]})
    assert r.status_code == 400 and r.json()["error"] == "bad_payload"
