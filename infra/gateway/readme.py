"""Reading a mapped repository's README with the tenant's GitHub credential, on the gateway's side.

The platform stores the README of every repository mapped to a project as that project's README.
The credential is the gateway's (``github_token`` in the tenant's vault), read here, in the
platform worker, and never returned: the caller gets the README's text and link only. Each read
is audited like a gateway call (intent ``github_readme``, agent ``switchboard``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import asyncpg
import requests
from github import Auth, Github, GithubException, UnknownObjectException

from infra.gateway import store
from infra.gateway.base import GatewayError, retry_after, retryable_status
from infra.gateway.service import CredentialSource, scrub
from infra.settings import GatewaySettings
from infra.vault import SecretStoreError, VaultUnavailable

SECRET = "github_token"
INTENT = "github_readme"
SYSTEM_AGENT = "switchboard"


@dataclass(frozen=True)
class Readme:
    """A repository's README as GitHub serves it (``GET /repos/{o}/{r}/readme``)."""

    repo: str
    path: str
    text: str
    url: str | None
    sha: str


class ReadmeReader:
    """Fetches READMEs through PyGithub with the tenant's vaulted token."""

    def __init__(self, pool: asyncpg.Pool, credentials: CredentialSource,
                 settings: GatewaySettings) -> None:
        self._pool = pool
        self._credentials = credentials
        self._settings = settings

    async def read(self, tenant_id: str, repo: str) -> Readme | None:
        """The repository's README on its default branch; None if it has none.

        Raises GatewayError (``retryable`` for a vault outage, rate limits, 5xx, network).
        """
        started = time.monotonic()
        secret = ""
        try:
            secret = await self._token(tenant_id)
            found = await asyncio.to_thread(self._fetch, secret, repo)
        except GatewayError as err:
            err.message = scrub(err.message, [secret])
            await self._audit(tenant_id, repo, "error", err.message, started)
            raise GatewayError(err.message, retryable=err.retryable,
                               retry_after=err.retry_after, status=err.status) from None
        await self._audit(tenant_id, repo, "ok", None if found else "no README", started)
        return found

    async def _token(self, tenant_id: str) -> str:
        try:
            token = await self._credentials.get(tenant_id, SECRET)
        except VaultUnavailable as err:
            raise GatewayError(f"the vault is unavailable: {err}", retryable=True) from None
        except SecretStoreError as err:
            raise GatewayError(f"credential {SECRET!r} cannot be read: {err}",
                               retryable=False) from None
        if token is None:
            raise GatewayError(f"tenant {tenant_id} has no secret {SECRET!r} in the vault",
                               retryable=False)
        return token

    def _fetch(self, token: str, repo: str) -> Readme | None:
        # Temporal owns retries (retry=None); lazy: the README is one request.
        client = Github(auth=Auth.Token(token), base_url=self._settings.github_api_url,
                        timeout=max(1, round(self._settings.timeout_seconds)), retry=None,
                        lazy=True, seconds_between_requests=None, seconds_between_writes=None)
        try:
            content = client.get_repo(repo).get_readme()
            text = content.decoded_content.decode("utf-8", errors="replace")
            return Readme(repo=repo, path=content.path, text=text, url=content.html_url,
                          sha=content.sha)
        except UnknownObjectException:
            return None
        except GithubException as exc:
            wait = retry_after(exc.headers or {})
            limited = exc.status == 403 and wait is not None
            raise GatewayError(f"GitHub answered {exc.status}: {exc.message or exc.data}",
                               retryable=retryable_status(exc.status) or limited,
                               retry_after=wait, status=exc.status) from None
        except requests.RequestException as exc:
            raise GatewayError(f"GitHub unreachable: {type(exc).__name__}",
                               retryable=True) from None
        finally:
            client.close()

    async def _audit(self, tenant_id: str, repo: str, outcome: str, detail: str | None,
                     started: float) -> None:
        await store.audit(self._pool, tenant_id=tenant_id, agent_id=SYSTEM_AGENT, intent=INTENT,
                          resource=repo, decision="allowed", outcome=outcome, detail=detail,
                          duration_ms=int((time.monotonic() - started) * 1000),
                          idempotency_key=None, source="readme")
