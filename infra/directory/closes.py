"""Which agent sockets must go, as one NOTIFY vocabulary on ``switchboard_agents``.

Every API process LISTENs on the channel (api/agent_channel.py) and closes its matching sockets.
A close is NOTIFYed in the transaction of the write that causes it (a pause, revoked tokens, a
stuck agent), so it is sent exactly when that write commits, never for one rolled back.

Payloads: ``close:<tenant>/<agent>`` (a stuck agent, the oldest form), ``close:<tenant>/<agent>
<why>`` (one agent's sockets), ``close:* <why>`` (every agent's) and ``close-token:<jti>`` (the
sockets of one token). Tenant and agent ids hold neither ``/`` nor spaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import asyncpg

AGENTS_CHANNEL = "switchboard_agents"
_AGENT, _TOKEN, _ALL = "close:", "close-token:", "*"


class Why(StrEnum):
    """Why sockets are closed."""

    STUCK = "stuck"
    PAUSED = "paused"
    TOKENS_REVOKED = "tokens_revoked"
    TOKEN_REVOKED = "token_revoked"


@dataclass(frozen=True)
class SocketClose:
    """Sockets to close: one token's, one agent's, or (no agent, no token) every agent's."""

    why: Why
    tenant_id: str | None = None
    agent_id: str | None = None
    token_id: str | None = None

    def payload(self) -> str:
        """The NOTIFY payload."""
        if self.token_id is not None:
            return f"{_TOKEN}{self.token_id}"
        if self.tenant_id is None or self.agent_id is None:
            return f"{_AGENT}{_ALL} {self.why}"
        return f"{_AGENT}{self.tenant_id}/{self.agent_id} {self.why}"

    def matches(self, tenant_id: str, agent_id: str, token_id: str) -> bool:
        """Whether a socket of this agent and token is one to close."""
        if self.token_id is not None:
            return token_id == self.token_id
        return self.agent_id is None or (tenant_id, agent_id) == (self.tenant_id, self.agent_id)

    @classmethod
    def parse(cls, payload: str) -> SocketClose | None:
        """The close a payload asks for, or None if it is not one."""
        if payload.startswith(_TOKEN):
            jti = payload.removeprefix(_TOKEN)
            return cls(Why.TOKEN_REVOKED, token_id=jti) if jti else None
        if not payload.startswith(_AGENT):
            return None
        target, _, why = payload.removeprefix(_AGENT).partition(" ")
        try:
            reason = Why(why or Why.STUCK)
        except ValueError:
            return None
        if target == _ALL:
            return cls(reason)
        tenant_id, slash, agent_id = target.partition("/")
        if not slash or not tenant_id or not agent_id:
            return None
        return cls(reason, tenant_id, agent_id)


async def notify(conn: asyncpg.Connection, close: SocketClose) -> None:
    """NOTIFY the close, sent when the caller's transaction commits."""
    await conn.execute("SELECT pg_notify($1, $2)", AGENTS_CHANNEL, close.payload())
