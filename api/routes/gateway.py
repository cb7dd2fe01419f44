"""The gateway for agents outside Temporal: ``POST /gateway/execute`` and the catalog."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, BeforeValidator, Field

from api.deps import AgentDep, AppStateDep
from api.errors import ApiError
from api.inputs import IntentName, nul_free
from api.openapi import DESCRIPTIONS
from infra.auth.tokens import AgentPrincipal
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


def _require_scope(agent: AgentPrincipal) -> None:
    if "gateway" not in agent.scopes:
        raise ApiError(403, "insufficient_scope", "this token lacks the gateway scope")


@router.get("/catalog", summary="What the calling agent may use, with argument schemas")
async def catalog(agent: AgentDep, state: AppStateDep) -> list[GatewayTool]:
    """The intents the agent holds grants for (integration discovery)."""
    _require_scope(agent)
    return await state.gateway.catalog(agent.tenant_id, agent.agent_id)


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
    body: ExecuteBody, agent: AgentDep, state: AppStateDep,
    idempotency_key: str = Header(min_length=8, max_length=200,
                                  description="The same key always gets the first result"),
) -> ExecuteResult:
    """Check the grant, take the credential from the vault, act once, audit."""
    _require_scope(agent)
    call = GatewayCall(tenant_id=agent.tenant_id, agent_id=agent.agent_id,
                       call=ToolCall(id=idempotency_key, name=body.intent, arguments=body.args),
                       idempotency_key=f"api/{idempotency_key}", event=body.event)
    outcome = await state.gateway.execute(call, source="api")
    if outcome.error is None:
        return ExecuteResult(intent=body.intent, result=outcome.result, replayed=outcome.replayed)
    if outcome.denied:
        status = 422 if outcome.error.startswith(("unknown intent", "invalid arguments")) else 403
        raise ApiError(status, "denied" if status == 403 else "invalid_intent", outcome.error)
    if outcome.limited:
        delay = int(outcome.retry_after.total_seconds()) + 1 if outcome.retry_after else 1
        raise ApiError(429, "rate_limited", outcome.error, retry_after=delay)
    if outcome.retryable:
        delay = int(outcome.retry_after.total_seconds()) if outcome.retry_after else 5
        raise ApiError(503, "remote_unavailable", outcome.error, retry_after=max(delay, 1))
    raise ApiError(502, "remote_refused", outcome.error)
