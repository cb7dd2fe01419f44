"""The embedded Temporal UI reads sealed payloads through ``/codec/decode`` without our admin
token (it cannot send one), and only it: dev mode, a loopback peer, the UI's loopback origin.

The requests below are the ones the Temporal UI's browser code makes: a CORS preflight naming
``content-type`` and ``x-namespace``, then a POST with ``Origin`` and ``X-Namespace`` and no
``Authorization`` (``TEMPORAL_CODEC_PASS_ACCESS_TOKEN`` off, as in the dev server).
"""

from __future__ import annotations

import base64

import httpx
import pytest

from infra.codec import ENCODING
from infra.settings import Settings

UI = "http://127.0.0.1:8233"  # the embedded UI's origin, in the suite's default ui_origins
PLAIN = {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
         "data": base64.b64encode(b'{"text": "deploy the hotfix"}').decode()}


async def _as_the_ui(http: httpx.AsyncClient, body: object, origin: str = UI,
                     **headers: str) -> httpx.Response:
    pre = await http.options("/codec/decode", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace"})
    if origin == UI:
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == UI
        assert "x-namespace" in pre.headers["access-control-allow-headers"].lower()
    else:
        assert "access-control-allow-origin" not in pre.headers
    return await http.post("/codec/decode", json=body, headers={
        "Origin": origin, "X-Namespace": "default", "Content-Type": "application/json",
        **headers})


async def test_the_embedded_ui_decodes_without_a_token_and_nobody_else_does(
    http: httpx.AsyncClient, admin: dict[str, str], settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sealed = (await http.post("/codec/encode", json={"payloads": [PLAIN]}, headers=admin)).json()
    assert base64.b64decode(sealed["payloads"][0]["metadata"]["encoding"]) == ENCODING

    r = await _as_the_ui(http, sealed)  # dev mode (the suite's), loopback, the UI's origin
    assert r.status_code == 200 and r.json() == {"payloads": [PLAIN]}
    assert r.headers["access-control-allow-origin"] == UI

    r = await _as_the_ui(http, sealed, origin="http://evil.example")
    assert r.status_code == 401 and "deploy" not in r.text
    # A proxy on this host forwarding someone else's request: uvicorn takes the client from
    # X-Forwarded-For (loopback is a trusted proxy), so the peer is no longer loopback.
    r = await _as_the_ui(http, sealed, **{"X-Forwarded-For": "203.0.113.7"})
    assert r.status_code == 401 and "deploy" not in r.text
    r = await http.post("/codec/encode", json={"payloads": [PLAIN]},  # encode: token only
                        headers={"Origin": UI, "X-Namespace": "default"})
    assert r.status_code == 401
    r = await _as_the_ui(http, sealed, Authorization="Bearer not-the-admin-token")
    assert r.status_code == 401  # a token given is checked, never ignored

    monkeypatch.setattr(settings, "dev_mode", False)  # the same API, configured for production
    r = await _as_the_ui(http, sealed)
    assert r.status_code == 401 and "deploy" not in r.text
    r = await _as_the_ui(http, sealed, **admin)  # a proxy adding the admin header still works
    assert r.status_code == 200 and r.json() == {"payloads": [PLAIN]}
