"""The gateway for agents outside Temporal: ``POST /gateway/execute`` and the catalog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Header
from pydantic import BaseModel, BeforeValidator, Field

from api.deps import AgentDep, GatewayDep
from api.errors import ApiError
from api.inputs import IntentName, nul_free
from api.openapi import DESCRIPTIONS
from infra.auth.tokens import AgentPrincipal
from infra.gateway.outcome import OutcomeKind
from workflows.contracts import GatewayCall, GatewayTool, StandardEvent, ToolCall

router = APIRouter(prefix="/gateway", tags=["gateway"])


class ExecuteBody(BaseModel):
    """One intent with its arguments, e.g. ``{"intent": "github_push", "args": {...}}``."""

    intent: IntentName
    args: Annotated[dict[str, Any], BeforeValidator(nul_free)] = Field(
        default_factory=dict, description="The intent's arguments (GET /gateway/catalog)")
    event: Annotated[StandardEvent | None, BeforeValidator(nul_free)] = Field(
        default=None, description="The event being answered (for reply)")


class ExecuteResult(BaseModel):
    """The intent's result (scrubbed of secrets); ``replayed`` for a repeated key."""

    intent: str
    result: dict[str, Any] | None
    replayed: bool


def _breaker_wait(delay: timedelta | None) -> int:
    """Seconds until the circuit breaker's window lets the call through (rounded up)."""
    return int(delay.total_seconds()) + 1 if delay else 1


def _remote_wait(delay: timedelta | None) -> int:
    """Seconds the remote (or the kill switch) asked to wait; 5 when it did not say."""
    return max(int(delay.total_seconds()), 1) if delay else 5


class Refusal(NamedTuple):
    """How the route answers an outcome that is not a result."""

    status: int
    code: str
    retry_after: Callable[[timedelta | None], int] | None = None


# Every kind but ok and replayed (which answer 200) as its status and error code.
REFUSALS: dict[OutcomeKind, Refusal] = {
    OutcomeKind.INVALID: Refusal(422, "invalid_intent"),
    OutcomeKind.DENIED: Refusal(403, "denied"),
    OutcomeKind.LIMITED: Refusal(429, "rate_limited", _breaker_wait),
    OutcomeKind.HELD: Refusal(503, "remote_unavailable", _remote_wait),
    OutcomeKind.RETRYABLE: Refusal(503, "remote_unavailable", _remote_wait),
    OutcomeKind.FAILED: Refusal(502, "remote_refused"),
}


def _require_scope(agent: AgentPrincipal) -> None:
    if "gateway" not in agent.scopes:
        raise ApiError(403, "insufficient_scope", "this token lacks the gateway scope")


@router.get("/catalog", summary="What the calling agent may use, with argument schemas")
async def catalog(agent: AgentDep, gateway: GatewayDep) -> list[GatewayTool]:
    """The intents the agent holds grants for (integration discovery)."""
    _require_scope(agent)
    return await gateway.catalog(agent.tenant_id, agent.agent_id)


@router.post(
    "/execute", summary="Execute an intent with a vault-held credential",
    responses={403: {"description": "No grant for this intent on this resource, or a token "
                                    "without the gateway scope"},
               429: {"description": DESCRIPTIONS[429]},
               502: {"description": "The remote refused the call (final; the same key replays "
                                    "this answer)"},
               503: {"description": "The remote is rate limiting or failing; retry later"}},
)
async def execute(
    body: ExecuteBody, agent: AgentDep, gateway: GatewayDep,
    idempotency_key: str = Header(min_length=8, max_length=200,
                                  description="The same key always gets the first result"),
) -> ExecuteResult:
    """Check the grant, take the credential from the vault, act once, audit."""
    _require_scope(agent)
    call = GatewayCall(tenant_id=agent.tenant_id, agent_id=agent.agent_id,
                       call=ToolCall(id=idempotency_key, name=body.intent, arguments=body.args),
                       idempotency_key=f"api/{idempotency_key}", event=body.event)
    outcome = await gateway.execute(call, source="api")
    refusal = REFUSALS.get(outcome.kind)
    if refusal is None:
        return ExecuteResult(intent=body.intent, result=outcome.result,
                             replayed=outcome.kind is OutcomeKind.REPLAYED)
    raise ApiError(refusal.status, refusal.code, outcome.error or outcome.kind,
                   retry_after=refusal.retry_after(outcome.retry_after)
                   if refusal.retry_after else None)
