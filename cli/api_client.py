"""The admin API as the CLI's user: one client for the commands that speak to it (events,
sessions).

Speaks as the user ``switchboard login`` kept (its access token refreshed as ``whoami`` does), or,
when nobody is logged in, as the bootstrap super-admin with ``SWITCHBOARD_ADMIN_TOKEN``. The
tenant is ``--tenant``, or the logged-in user's only tenant.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from cli import auth
from infra.settings import Settings


class CliError(Exception):
    """A failure to tell the user in one line (exit code 1)."""


def _reason(r: httpx.Response) -> str:
    try:
        body = r.json()
        return f"{r.status_code} {body.get('error')}: {body.get('detail')}"
    except (ValueError, AttributeError):
        return f"{r.status_code} {r.text[:200]}"


class Api:
    """The admin API as the CLI's user (or the bootstrap super-admin), on one tenant."""

    def __init__(self, args: argparse.Namespace) -> None:
        saved = auth.saved_session()
        if saved is not None and args.api in (None, saved["api"]):
            self.http = httpx.Client(base_url=saved["api"], timeout=60)
            fresh = auth.refreshed(self.http, saved)
            if isinstance(fresh, httpx.Response):
                raise CliError(f"the session was refused, log in again ({_reason(fresh)})")
            self.http.headers["Authorization"] = f"Bearer {fresh['access_token']}"
        else:
            try:
                token = Settings().admin_token
            except ValidationError as err:
                raise CliError(f"bad settings: {err.errors()[0]['msg']}") from None
            if token is None:
                raise CliError("not logged in (switchboard login --email ...) and "
                               "SWITCHBOARD_ADMIN_TOKEN is not set")
            self.http = httpx.Client(base_url=(args.api or auth.default_api()).rstrip("/"),
                                     timeout=60)
            self.http.headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        self.tenant = args.tenant or self._only_tenant(saved is not None)

    def _only_tenant(self, user: bool) -> str:
        roles = self.call("GET", "/auth/me")["roles"] if user else {}
        if len(roles) != 1:
            raise CliError("--tenant is required" + (f" (your tenants: {', '.join(roles)})"
                                                     if roles else ""))
        return str(next(iter(roles)))

    def call(self, method: str, path: str, **kw: Any) -> Any:
        """One request; its JSON, waiting out a 429 (the tenant's quota); CliError otherwise."""
        while True:
            try:
                r = self.http.request(method, path, **kw)
            except httpx.HTTPError as err:
                raise CliError(f"cannot reach {self.http.base_url}: {err}") from None
            if r.status_code == 429:
                time.sleep(min(float(r.headers.get("Retry-After", "1")), 60.0))
                continue
            if r.status_code >= 400:
                raise CliError(_reason(r))
            return r.json() if r.content else None  # 204: nothing to read


A = TypeVar("A", bound=Api)


def tenant_options() -> argparse.ArgumentParser:
    """The options every API command shares: ``--tenant`` and ``--api`` (a parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--tenant", help="the tenant (default: the logged-in user's only one)")
    common.add_argument("--api", help="the API's URL (default: the login's, or HOST:PORT)")
    return common


def handler(group: str, command: Callable[[argparse.Namespace, A], int],
            api: Callable[[argparse.Namespace], A]) -> Callable[[argparse.Namespace], int]:
    """``command`` as an argparse handler: its API client built, a CliError printed in one line
    (``switchboard <group> <subcommand>: ...``) and exit status 1."""
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args, api(args))
        except CliError as err:
            print(f"switchboard {group} {getattr(args, f'{group}_command')}: {err}",
                  file=sys.stderr)
            return 1
    return run


def command_adder(sub: argparse._SubParsersAction[argparse.ArgumentParser], group: str,
                  common: argparse.ArgumentParser, api: Callable[[argparse.Namespace], A]
                  ) -> Callable[[str, Callable[[argparse.Namespace, A], int], str],
                                argparse.ArgumentParser]:
    """A function adding ``switchboard <group> <name>`` subcommands: the ``common`` options,
    and ``run`` as its handler (:func:`handler`)."""
    def add(name: str, run: Callable[[argparse.Namespace, A], int], text: str
            ) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, parents=[common], help=text)
        parser.set_defaults(func=handler(group, run, api))
        return parser
    return add
