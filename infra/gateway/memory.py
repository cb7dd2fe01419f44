"""``memory_remember``: an agent writes a core fact of its own memory (infra/memory).

A platform-internal write: no provider and no secret, only the platform's database, for the
calling agent in its own tenant (both from the gateway call, never from the arguments, so an
agent cannot write another agent's or tenant's memory). The grant is checked on the key, so a
pattern can confine an agent to some keys (``prefs.*``); ``*`` allows any. Writing the same
value under the same key again changes nothing, so a retried call is safe.

The name has no dot: OpenAI function names must match ``^[a-zA-Z0-9_-]{1,64}$``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from infra.gateway.base import ExecutionContext, GatewayError, Intent, Result
from infra.memory import KEY_PATTERN, MAX_VALUE_CHARS, UnknownAgent, set_core

REMEMBER = "memory_remember"

MemoryKey = Annotated[str, Field(pattern=KEY_PATTERN, description=(
    'Short name of the fact, e.g. "deploy_day" or "prefs.language" (letters, digits, _ . : -;'
    " at most 128)"))]


class RememberArgs(BaseModel):
    """Arguments of memory_remember."""

    key: MemoryKey
    value: str = Field(min_length=1, max_length=MAX_VALUE_CHARS,
                       description="What to remember; replaces the key's earlier value")


async def remember(args: RememberArgs, ctx: ExecutionContext) -> Result:
    """Store the fact for the calling agent in its tenant."""
    if ctx.pool is None:
        raise GatewayError("this gateway has no database to remember in", retryable=False)
    try:
        row = await set_core(ctx.pool, ctx.tenant_id, ctx.agent_id, args.key, args.value,
                             by="agent")
    except UnknownAgent as err:
        raise GatewayError(str(err), retryable=False) from None
    return {"id": row.id, "key": row.key, "remembered": True}


REMEMBER_INTENT: Intent[RememberArgs] = Intent(
    name=REMEMBER,
    description="Remember a fact for your later work in this workspace (key -> value); it is "
                "shown to you under 'Core facts' from now on. The same key replaces the value.",
    args=RememberArgs,
    resource=lambda a: a.key,
    secret=None,
    execute=remember,
)

INTENTS = [REMEMBER_INTENT]
