"""The agent socket's protocol (``/agents/ws``): every message as a pydantic model.

A frame is one JSON object in a text frame; ``type`` tells the messages apart. An agent sends an
``AgentMessage`` (hello, ping, result, error, gateway), the server a ``ServerMessage`` (welcome,
pong, think, run_tool, gateway_result, error). ``read`` turns a text frame into an
``AgentMessage`` with one TypeAdapter, or raises ``Unreadable`` carrying the answer to send.
Sockets are closed with a ``CloseCode``. The README's "Agent socket protocol" documents the same.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    TypeAdapter,
    ValidationError,
)

from infra.gateway.outcome import Outcome, OutcomeKind
from workflows.contracts import ThinkInput, ThinkOutput, ToolInput, ToolResult


class CloseCode(IntEnum):
    """Why the server closed an agent's socket."""

    GOING_AWAY = 1001  # the API process is shutting down: reconnect
    UNSUPPORTED_DATA = 1003  # a binary frame: messages are JSON text
    TRY_AGAIN_LATER = 1013  # the database is unavailable: reconnect later
    KILL_SWITCH = 4001  # the kill switch is on (stop_all)
    STUCK_AGENT = 4002  # the circuit breaker paused this agent
    AGENT_PAUSED = 4003  # an admin paused this agent: reconnecting is refused until resumed
    TOKEN_REVOKED = 4004  # this token, or every token of the agent, was revoked
    TOKEN_EXPIRED = 4005  # the token expired: get a new one and reconnect
    UNAUTHORIZED = 4401  # missing, invalid, expired or revoked token
    FORBIDDEN = 4403  # token of another tenant, or without the agent scope


# Agent -> server


class Hello(BaseModel):
    """Introduce the agent; with ``accept_work`` it is sent its thinks and tool calls."""

    type: Literal["hello"]
    accept_work: bool = False


class Ping(BaseModel):
    """A heartbeat (every 30 s): answered ``pong``, and keeps the agent online."""

    type: Literal["ping"]


def _output_kind(output: Any) -> str:
    """A tool call's answer carries ``call_id``; anything else answers a think."""
    has_call_id = "call_id" in output if isinstance(output, dict) else isinstance(
        output, ToolResult)
    return "tool" if has_call_id else "think"


TaskOutput = Annotated[Annotated[ToolResult, Tag("tool")] | Annotated[ThinkOutput, Tag("think")],
                       Discriminator(_output_kind)]


class TaskDone(BaseModel):
    """The answer to a ``think`` (a ThinkOutput) or a ``run_tool`` (a ToolResult) task."""

    type: Literal["result"]
    task_id: str
    output: TaskOutput


class TaskFailed(BaseModel):
    """A task the agent could not do; Temporal retries it as its policy says."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    type: Literal["error"]
    task_id: str
    detail: str = "agent error"


class GatewayRequest(BaseModel):
    """An intent for the gateway, answered by a ``gateway_result`` with the same ``id``."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    type: Literal["gateway"]
    id: JsonValue = Field(default=None, description="Any JSON value, echoed in the answer")
    intent: str
    args: dict[str, JsonValue] | None = None
    idempotency_key: str | None = Field(default=None, description="8 characters or more")


AgentMessage = Annotated[Hello | Ping | TaskDone | TaskFailed | GatewayRequest,
                         Field(discriminator="type")]
AGENT_MESSAGE: TypeAdapter[AgentMessage] = TypeAdapter(AgentMessage)


# Server -> agent


class Welcome(BaseModel):
    """The socket is accepted, for this agent of this tenant."""

    type: Literal["welcome"] = "welcome"
    agent_id: str
    tenant_id: str


class Pong(BaseModel):
    """The answer to ``ping``."""

    type: Literal["pong"] = "pong"


class ThinkTask(BaseModel):
    """Think for a run; answer with ``result`` (a ThinkOutput) under ``task_id``."""

    type: Literal["think"] = "think"
    task_id: str
    input: ThinkInput


class ToolTask(BaseModel):
    """Run one of the agent's own tools; answer with ``result`` (a ToolResult)."""

    type: Literal["run_tool"] = "run_tool"
    task_id: str
    input: ToolInput


# The socket's one table of gateway outcomes: whether sending the same call again can succeed.
GATEWAY_RETRYABLE: dict[OutcomeKind, bool] = {
    OutcomeKind.OK: False,
    OutcomeKind.REPLAYED: False,
    OutcomeKind.INVALID: False,
    OutcomeKind.DENIED: False,
    OutcomeKind.FAILED: False,
    OutcomeKind.LIMITED: True,
    OutcomeKind.HELD: True,
    OutcomeKind.RETRYABLE: True,
}


class GatewayResult(BaseModel):
    """A gateway call's answer: ``result``, or ``error`` and whether a retry can succeed."""

    type: Literal["gateway_result"] = "gateway_result"
    id: JsonValue = None
    result: dict[str, Any] | None = None
    error: str | None = None
    retryable: bool = False

    @classmethod
    def of(cls, request_id: JsonValue, outcome: Outcome) -> GatewayResult:
        """The answer to a gateway request that reached the gateway."""
        return cls(id=request_id, result=outcome.result, error=outcome.error,
                   retryable=GATEWAY_RETRYABLE[outcome.kind])


class ErrorMessage(BaseModel):
    """A message the server could not serve; ``retryable`` (only sent when true) for outages."""

    type: Literal["error"] = "error"
    detail: str
    retryable: bool = Field(default=False, exclude_if=lambda retryable: not retryable)


ServerMessage = Annotated[Welcome | Pong | ThinkTask | ToolTask | GatewayResult | ErrorMessage,
                          Field(discriminator="type")]


class Unreadable(Exception):
    """A frame that is not a message; ``answer`` says why (the socket stays open)."""

    def __init__(self, answer: ErrorMessage | GatewayResult) -> None:
        super().__init__(answer.error if isinstance(answer, GatewayResult) else answer.detail)
        self.answer = answer


def read(text: str) -> AgentMessage:
    """An agent's text frame as its message; raises ``Unreadable`` with the answer if not one."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise Unreadable(ErrorMessage(
            detail="message is not JSON: send one JSON object per text frame")) from None
    if not isinstance(raw, dict):
        raise Unreadable(ErrorMessage(detail="messages are JSON objects"))
    try:
        return AGENT_MESSAGE.validate_python(raw)
    except ValidationError as err:
        raise Unreadable(_refusal(raw, err)) from None


def _refusal(raw: dict[str, Any], err: ValidationError) -> ErrorMessage | GatewayResult:
    """The answer to a JSON object that is not a valid message."""
    errors = err.errors(include_url=False, include_input=False)
    if errors[0]["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return ErrorMessage(detail=f"unknown message type {raw.get('type')!r}")
    kind = raw["type"]
    problems = "; ".join(
        f"{'.'.join(str(part) for part in e['loc'][1:]) or 'message'}: {e['msg']}"
        for e in errors)
    detail = f"invalid {kind} message: {problems}"
    if kind == "gateway":  # answered under its id, so the agent's pending call ends
        request_id = raw.get("id")
        return GatewayResult(id=request_id, error=detail)
    return ErrorMessage(detail=detail)
