"""The webhook fixtures: providers' published payloads, their headers and what they should become.

The payloads live in ``tests/fixtures/webhooks/`` (sources in its ``index.json``). Signature
headers are computed here over each file's exact bytes with the index's test secrets, so a
fixture and its signature can never disagree.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent / "fixtures" / "webhooks"


@cache
def index() -> dict[str, Any]:
    """The fixture index.json, every entry's headers completed with its signatures."""
    data: dict[str, Any] = json.loads((CORPUS / "index.json").read_text())
    secrets = data["test_secrets"]
    for e in data["entries"]:
        raw = (CORPUS / e["file"]).read_bytes()
        provider = e["provider"]
        if provider == "slack":
            signed = slack_sign(raw, secrets["slack"], int(data["slack_timestamp"]))
        elif provider == "github":
            sha1 = hmac.new(secrets["github"].encode(), raw, hashlib.sha1).hexdigest()
            signed = {"X-Hub-Signature": f"sha1={sha1}", **github_sign(raw, secrets["github"])}
        else:
            signed = clickup_sign(raw, secrets["clickup"])
        e["headers"] = e["headers"] | signed
    return data


def entries(provider: str | None = None, *, catalog: bool = False) -> list[dict[str, Any]]:
    """Fixture entries, optionally of one provider.

    The core set by default: one payload per kind of delivery, which the end-to-end tests send
    through the whole pipeline. ``catalog=True`` adds every published example of the providers'
    catalogs (``"catalog": true`` in the index, about 500), which the normalizer tests take.
    """
    return [e for e in index()["entries"]
            if (provider is None or e["provider"] == provider)
            and (catalog or not e.get("catalog"))]


def entry(entry_id: str) -> dict[str, Any]:
    """One fixture entry by id."""
    return next(e for e in entries(catalog=True) if e["id"] == entry_id)


def secret(provider: str) -> str:
    """The test secret the fixture signatures are made with."""
    value: str = index()["test_secrets"][provider]
    return value


def body(e: dict[str, Any]) -> bytes:
    """The payload's exact bytes."""
    raw: bytes = (CORPUS / e["file"]).read_bytes()
    return raw


def slack_sign(raw: bytes, signing_secret: str, ts: int | None = None) -> dict[str, str]:
    """Slack signature headers for ``raw`` at ``ts`` (now by default)."""
    stamp = str(int(time.time()) if ts is None else ts)
    digest = hmac.new(signing_secret.encode(), b"v0:" + stamp.encode() + b":" + raw,
                      hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def github_sign(raw: bytes, signing_secret: str) -> dict[str, str]:
    """GitHub's X-Hub-Signature-256 for ``raw``."""
    digest = hmac.new(signing_secret.encode(), raw, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}"}


def clickup_sign(raw: bytes, signing_secret: str) -> dict[str, str]:
    """ClickUp's X-Signature for ``raw``."""
    return {"X-Signature": hmac.new(signing_secret.encode(), raw, hashlib.sha256).hexdigest()}


def live_request(e: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """Body and headers as the provider would send them now (Slack re-signed for its window)."""
    raw = body(e)
    headers = dict(e["headers"])
    if e["provider"] == "slack":
        headers.update(slack_sign(raw, secret("slack")))
    return raw, headers


def sign(provider: str, raw: bytes, signing_secret: str) -> dict[str, str]:
    """Signature headers of any provider for ``raw``."""
    if provider == "slack":
        return slack_sign(raw, signing_secret)
    if provider == "github":
        return github_sign(raw, signing_secret)
    return clickup_sign(raw, signing_secret)
