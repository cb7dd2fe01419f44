"""A local stand-in for HashiCorp Vault: the KV v2 engine and AppRole login.

Routes, as Vault answers them (JSON bodies, ``{"errors": [...]}`` on failure):

* ``POST /v1/auth/approle/login`` ``{"role_id", "secret_id"}`` → ``auth.client_token``
  (400 ``invalid role or secret ID`` otherwise); tokens may be short-lived (``token_ttl``).
* ``GET|POST|DELETE /v1/<mount>/data/<path>``: read the latest version, write a new one,
  soft-delete the latest (a later read is 404).
* ``GET|DELETE /v1/<mount>/metadata/<path>``: versions and ``updated_time``; destroy everything.
* ``LIST /v1/<mount>/metadata/<path>``: the keys below a folder. hvac sends the ``LIST`` verb
  by default and ``GET ?list=true`` with ``strict_http=True``; both are served.

Every route but the login needs ``X-Vault-Token`` with a live token: 403 ``permission denied``
otherwise, as Vault answers a missing, unknown or expired token. Tests drive it through the real
``hvac`` client, over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes._http import FakeHandler, LocalServer


@dataclass(frozen=True)
class Recorded:
    """A request the fake received (the token itself is not kept)."""

    method: str
    path: str
    query: dict[str, list[str]]
    token_sent: bool


@dataclass
class _Secret:
    versions: list[dict[str, Any]] = field(default_factory=list)
    updated_time: str = ""


def _now() -> str:
    """An RFC 3339 time with nanoseconds, as Vault writes them."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


class FakeVault(LocalServer):
    """The fake server; use as a context manager, then point hvac at ``url``."""

    def __init__(self, *, mount: str = "secret", root_token: str | None = None,
                 role_id: str | None = None, secret_id: str | None = None,
                 token_ttl: float | None = None) -> None:
        self.mount = mount
        self.role_id = role_id
        self.secret_id = secret_id
        self.token_ttl = token_ttl
        self.logins = 0
        self.down = False  # answer 503 "Vault is sealed" to everything
        self.echo_token = False  # quote the refused token in errors, to test that it is redacted
        self.requests: list[Recorded] = []
        self.secrets: dict[str, _Secret] = {}
        self._tokens: dict[str, float | None] = {}
        if root_token is not None:
            self._tokens[root_token] = None
        self._lock = threading.Lock()
        super().__init__(self._handler())

    @property
    def url(self) -> str:
        """The address to give hvac (``VAULT_ADDR``)."""
        return self.origin

    def expire_tokens(self) -> None:
        """Expire every issued token, as their TTL running out would."""
        with self._lock:
            self._tokens = {t: time.monotonic() - 1 for t in self._tokens}

    def value(self, path: str) -> Any:
        """The latest live data stored at ``path`` (under the mount), or None."""
        with self._lock:
            found = self.secrets.get(path)
            if found is None or not found.versions or found.versions[-1]["deletion_time"]:
                return None
            return found.versions[-1]["data"]

    # -- the routes ---------------------------------------------------------------------------

    def _login(self, body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        if self.role_id is None or (body.get("role_id"), body.get("secret_id")) != (
                self.role_id, self.secret_id):
            return 400, {"errors": ["invalid role or secret ID"]}
        token = "hvs." + secrets.token_urlsafe(18)
        expiry = None if self.token_ttl is None else time.monotonic() + self.token_ttl
        self._tokens[token] = expiry
        self.logins += 1
        return 200, {"auth": {"client_token": token, "accessor": secrets.token_hex(8),
                              "policies": ["default", "switchboard"], "renewable": True,
                              "lease_duration": int(self.token_ttl or 0)}}

    def _authorized(self, token: str | None) -> bool:
        if token is None or token not in self._tokens:
            return False
        expiry = self._tokens[token]
        return expiry is None or time.monotonic() < expiry

    def _kv(self, method: str, kind: str, path: str, listing: bool,
            body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        found = self.secrets.get(path)
        if kind == "metadata" and listing:
            return self._list(path)
        if kind == "metadata" and method == "GET":
            if found is None:
                return 404, {"errors": []}
            versions = {str(i + 1): {k: v[k] for k in ("created_time", "deletion_time",
                                                        "destroyed")}
                        for i, v in enumerate(found.versions)}
            return 200, {"data": {"current_version": len(found.versions), "max_versions": 0,
                                  "oldest_version": 1, "updated_time": found.updated_time,
                                  "versions": versions, "custom_metadata": None}}
        if kind == "metadata" and method == "DELETE":
            self.secrets.pop(path, None)
            return 204, None
        if method == "POST":
            secret = self.secrets.setdefault(path, _Secret())
            stamp = _now()
            secret.versions.append({"data": body.get("data"), "created_time": stamp,
                                    "deletion_time": "", "destroyed": False})
            secret.updated_time = stamp
            return 200, {"data": {k: secret.versions[-1][k]
                                  for k in ("created_time", "deletion_time", "destroyed")}
                         | {"version": len(secret.versions)}}
        if found is None or not found.versions:
            return 404, {"errors": []}
        latest = found.versions[-1]
        if method == "DELETE":
            latest["deletion_time"] = _now()
            return 204, None
        metadata = {k: latest[k] for k in ("created_time", "deletion_time", "destroyed")}
        metadata |= {"version": len(found.versions), "custom_metadata": None}
        if latest["deletion_time"]:
            return 404, {"errors": [], "data": {"data": None, "metadata": metadata}}
        return 200, {"data": {"data": latest["data"], "metadata": metadata}}

    def _list(self, folder: str) -> tuple[int, dict[str, Any] | None]:
        prefix = folder.rstrip("/") + "/"
        keys = set()
        for path in self.secrets:
            if path.startswith(prefix):
                head, sep, _ = path[len(prefix):].partition("/")
                keys.add(head + sep)
        if not keys:
            return 404, {"errors": []}
        return 200, {"data": {"keys": sorted(keys)}}

    def _route(self, method: str, target: str, token: str | None,
               body: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        path = unquote(parts.path)
        with self._lock:
            self.requests.append(Recorded(method, path, query, token is not None))
            if self.down:
                return 503, {"errors": ["Vault is sealed"]}
            if method == "POST" and path == "/v1/auth/approle/login":
                return self._login(body)
            if not self._authorized(token):
                quoted = f" (token {token!r})" if self.echo_token else ""
                return 403, {"errors": [f"permission denied{quoted}"]}
            mount, _, rest = path.removeprefix("/v1/").partition("/")
            kind, _, secret_path = rest.partition("/")
            if mount != self.mount or kind not in ("data", "metadata") or not secret_path:
                return 404, {"errors": [f'no handler for route "{path}"']}
            listing = method == "LIST" or (method == "GET" and query.get("list") == ["true"])
            return self._kv(method, kind, secret_path, listing, body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(FakeHandler):
            def _serve(self) -> None:
                raw = self.read_body()
                body = json.loads(raw) if raw else {}
                status, answer = fake._route(self.command, self.path,
                                             self.headers.get("X-Vault-Token"), body)
                if answer is None:
                    self.answer(status, b"")
                else:
                    self.answer_json(status, answer)

            do_GET = do_POST = do_PUT = do_DELETE = do_LIST = _serve

        return Handler
