"""An API process started with another master key than the one the secrets were sealed under
(a mistyped key, or the moment between ``secrets rotate-master-key`` and the restart)."""

from __future__ import annotations

import base64
import json
import os
import uuid

import httpx
from pydantic import SecretStr

from infra.settings import Settings
from tests import corpus
from tests.conftest import TenantFactory
from tests.harness import api_server


async def test_a_signing_secret_the_key_does_not_open_is_a_503_not_a_500(
    settings: Settings, make_tenant: TenantFactory
) -> None:
    tenant = await make_tenant()  # its signing secrets sealed under the session's key
    other_key = SecretStr(base64.b64encode(os.urandom(32)).decode())
    raw = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "ping",
               "X-GitHub-Delivery": str(uuid.uuid4()),
               **corpus.github_sign(raw, corpus.secret("github"))}
    async with api_server(settings.model_copy(update={"master_key": other_key}),
                          run_relay=False) as url, \
            httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.post(f"/webhooks/github/{tenant}", content=raw, headers=headers)
    assert r.status_code == 503, r.text  # the provider retries; nothing is lost
    assert r.json()["error"] == "secret_unreadable"
    assert "SWITCHBOARD_MASTER_KEY" in r.json()["detail"]
