"""``switchboard login`` / ``whoami`` / ``logout``: a user's session kept for the command line.

The token pair is kept in ``$XDG_CONFIG_HOME/switchboard/credentials.json`` (by default
``~/.config/switchboard/``), readable by its owner only (0600). ``whoami`` refreshes the access
token when it has expired, and stores the rotated pair.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from infra.settings import Settings


def credentials_path() -> Path:
    """Where the CLI keeps the token pair."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "switchboard" / "credentials.json"


def _save(api: str, email: str, tokens: dict[str, Any]) -> Path:
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = {"api": api, "email": email, "access_token": tokens["access_token"],
              "refresh_token": tokens["refresh_token"],
              "expires_at": int(time.time()) + int(tokens["expires_in"])}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        json.dump(record, out)
    return path


def _load() -> dict[str, Any] | None:
    path = credentials_path()
    return json.loads(path.read_text()) if path.exists() else None


def saved_session() -> dict[str, Any] | None:
    """The session ``switchboard login`` kept (``api``, ``email``, tokens), or None."""
    return _load()


def refreshed(http: httpx.Client, saved: dict[str, Any]) -> dict[str, Any] | httpx.Response:
    """The session with a live access token, refreshed and kept when it is (nearly) expired;
    the API's answer when it refuses the refresh (log in again)."""
    if saved["expires_at"] > time.time() + 30:
        return saved
    r = http.post("/auth/refresh", json={"refresh_token": saved["refresh_token"]})
    if r.status_code != 200:
        return r
    _save(saved["api"], saved["email"], r.json())
    return _load() or saved


def default_api() -> str:
    """The API's URL from the settings: ``http://SWITCHBOARD_HOST:PORT``."""
    api = Settings().api
    return f"http://{api.host}:{api.port}"


def _fail(what: str, response: httpx.Response) -> int:
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    print(f"switchboard {what}: {response.status_code} {detail}", file=sys.stderr)
    return 1


def cmd_login(args: argparse.Namespace) -> int:
    """Log in with email and password; keep the tokens."""
    api = (args.api or default_api()).rstrip("/")
    password = (sys.stdin.readline().rstrip("\n") if args.password_stdin
                else getpass.getpass(f"password for {args.email}: "))
    try:
        r = httpx.post(f"{api}/auth/login", json={"email": args.email, "password": password},
                       timeout=30)
    except httpx.HTTPError as err:
        print(f"switchboard login: cannot reach {api}: {err}", file=sys.stderr)
        return 1
    if r.status_code != 200:
        return _fail("login", r)
    path = _save(api, args.email.lower(), r.json())
    print(f"logged in as {args.email.lower()} at {api} (tokens in {path})")
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    """Show the logged-in user and its roles, refreshing the access token if needed."""
    saved = _load()
    if saved is None:
        print("switchboard whoami: not logged in (switchboard login --email ...)", file=sys.stderr)
        return 1
    api = saved["api"]
    with httpx.Client(base_url=api, timeout=30) as http:
        fresh = refreshed(http, saved)
        if isinstance(fresh, httpx.Response):
            return _fail("whoami (log in again)", fresh)
        r = http.get("/auth/me", headers={"Authorization": f"Bearer {fresh['access_token']}"})
    if r.status_code != 200:
        return _fail("whoami (log in again)", r)
    me = r.json()
    roles = ", ".join(f"{t}: {role}" for t, role in me["roles"].items()) or "no tenant yet"
    print(f"{me['actor']} at {api} ({roles})")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    """End the session on the server and forget the tokens."""
    saved = _load()
    if saved is None:
        return 0
    try:
        httpx.post(f"{saved['api']}/auth/logout", json={"refresh_token": saved["refresh_token"]},
                   timeout=30)
    except httpx.HTTPError as err:
        print(f"switchboard logout: the server was not told ({err})", file=sys.stderr)
    credentials_path().unlink(missing_ok=True)
    print("logged out")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``switchboard login``, ``whoami`` and ``logout``."""
    login = sub.add_parser("login", help="log in as a user; the tokens are kept for the CLI")
    login.add_argument("--email", required=True, help="the user's email")
    login.add_argument("--api", help="the API's URL (default: http://SWITCHBOARD_HOST:PORT)")
    login.add_argument("--password-stdin", action="store_true",
                       help="read the password from standard input instead of a prompt")
    login.set_defaults(func=cmd_login)
    whoami = sub.add_parser("whoami", help="the logged-in user and its roles")
    whoami.set_defaults(func=cmd_whoami)
    logout = sub.add_parser("logout", help="end the CLI's session")
    logout.set_defaults(func=cmd_logout)
