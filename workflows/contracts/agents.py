"""Contracts of AgentRunWorkflow and the agent runtime's activities (think, run_tool)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from workflows.contracts.conversation import Conversation, ToolLog
from workflows.contracts.events import StandardEvent

# The versions new runs are started with (workflows/event.py, session.py, agent_run.py say what
# each brings). A workflow's input carries it: ``VERSION_FIELD``.
EVENT_VERSION = 1
SESSION_VERSION = 2
RUN_VERSION = 1
VERSION_FIELD = ("Which of the workflow's changes this run takes, set by whoever starts it (0: a"
                 " run begun before versions, which reads its patch markers instead). It is in"
                 " the run's first history event, so a replay takes the same branch, with no"
                 " marker and no TemporalChangeVersion upsert per run (issue #17)")


class NewerVersion(RuntimeError):
    """A workflow's input names a version newer than this worker's code (a rolling deploy: a
    new process started it, an old one took its task). Raised in the workflow, it fails the
    workflow task, not the workflow: the task is retried until a worker that knows the version
    takes it, instead of an old worker writing the old steps into a new run's history, which
    the new code could then not replay."""


def require_known(version: int, newest: int, workflow_name: str) -> None:
    """Raise NewerVersion when ``version`` is newer than ``newest``, this code's."""
    if version > newest:
        raise NewerVersion(f"{workflow_name} input version {version} is newer than this"
                           f" worker's {newest}: a worker with newer code must take this task")


class AgentProfile(BaseModel):
    """Who the agent is, as its prompt may say."""

    agent_id: str
    name: str
    role: str = ""


class GatewayTool(BaseModel):
    """A gateway intent this agent is granted, offered to its LLM as a function."""

    name: str
    description: str
    parameters: dict[str, Any] = Field(description="JSON schema of the arguments")


class ContextItem(BaseModel):
    """A piece of the tenant's memory attached to the work: a thread, a README, a summary."""

    source: str = Field(description="slack_thread, readme, summary, clickup_task or document")
    title: str
    url: str | None = None
    text: str
    score: float = Field(description="Relevance to the event, higher is closer")
    tokens: int = Field(default=0, description="Tokens of text (tiktoken cl100k_base)")


class MemoryItem(BaseModel):
    """Something the agent remembers (infra/memory): a core fact or an episodic summary."""

    type: Literal["core", "episodic"]
    key: str | None = Field(default=None, description="The fact's key (core facts only)")
    text: str = Field(description="The fact's value, or the summary")
    tokens: int = Field(default=0, description="Tokens of text (tiktoken cl100k_base)")
    id: int = Field(description="Its row id (DELETE .../memory/{id})")


class AgentTarget(BaseModel):
    """An agent chosen for an event, with what its run needs to know."""

    agent_id: str
    name: str = ""
    role: str = ""
    max_turns: int = 8
    queue_expiry_seconds: int = Field(
        default=86400, description="How long a think may wait for a worker before it expires"
    )
    gateway_tools: list[GatewayTool] = Field(default_factory=list)
    context_token_budget: int = Field(default=2000, description="Tokens of context per think")
    memory: list[MemoryItem] = Field(default_factory=list, description=(
        "What the agent remembers of this tenant, recalled at planning (its tokens are taken"
        " out of context_token_budget)"))


class AgentRunInput(BaseModel):
    """Input of AgentRunWorkflow: one agent working on one event."""

    run_id: str
    target: AgentTarget
    event: StandardEvent
    project_id: str | None = None
    gateway_queue: str | None = Field(
        default=None, description="The gateway's task queue (settings, via the resolver);"
                                  " without one, a gateway intent answers an error")
    context: list[ContextItem] = Field(default_factory=list)
    memory: list[MemoryItem] = Field(default_factory=list, description=(
        "The agent's memory for this run (empty: the target's, recalled at planning)"))
    conversation: Conversation | None = Field(default=None, description=(
        "A session's turn: the conversation so far (None: a run outside a session)"))
    version: int = Field(default=0, description=VERSION_FIELD)


class ToolCall(BaseModel):
    """A tool the agent asks to run."""

    id: str = Field(description="The LLM's id for this call, echoed in its result")
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    target: Literal["agent", "gateway"] = Field(
        default="agent", description="agent: a skill of the agent's worker; gateway: an intent")


class PendingApproval(BaseModel):
    """The gateway's answer to a call a human must approve first: the run waits on it."""

    approval_id: str
    timeout_seconds: int = Field(description="How long the run waits; then the call is denied")


class ToolResult(BaseModel):
    """What a tool answered (an error is an answer too: the agent sees it and adapts)."""

    call_id: str
    name: str
    content: str
    is_error: bool = False
    approval: PendingApproval | None = Field(default=None, description=(
        "The gateway holds the call for a human decision (README, Approvals)"))


class Step(BaseModel):
    """One turn that asked for tools, and what the tools answered."""

    thought: str | None = None
    tool_calls: list[ToolCall]
    results: list[ToolResult]


class Usage(BaseModel):
    """What one think cost."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0


class ThinkInput(BaseModel):
    """Input of an agent's think activity: the work, and every step taken so far."""

    run_id: str
    agent_id: str
    profile: AgentProfile
    turn: int
    max_turns: int
    event: StandardEvent
    steps: list[Step] = Field(default_factory=list)
    gateway_tools: list[GatewayTool] = Field(default_factory=list)
    context: list[ContextItem] = Field(default_factory=list)
    memory: list[MemoryItem] = Field(default_factory=list,
                                     description="Core facts first, then episodic summaries")
    conversation: Conversation | None = Field(default=None,
                                              description="A session's conversation so far")


class ThinkOutput(BaseModel):
    """An agent's decision: a final answer, or tool calls to run first."""

    final: str | None = None
    thought: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage | None = None


class ToolInput(BaseModel):
    """Input of the run_tool activity: one call of one turn."""

    run_id: str
    agent_id: str
    tenant_id: str
    turn: int
    call: ToolCall


class GatewayCall(BaseModel):
    """Input of the gateway_execute activity: one intent, on behalf of one agent."""

    tenant_id: str
    agent_id: str
    call: ToolCall
    idempotency_key: str = Field(description="Stable across retries: the same key, one effect")
    event: StandardEvent | None = None
    approval_id: str | None = Field(default=None, description=(
        "The approval that allows this very call (its arguments' hash must match)"))


class UsageRecord(BaseModel):
    """One think's cost, for the economy table."""

    tenant_id: str
    agent_id: str
    run_id: str
    turn: int
    model: str
    input_tokens: int
    output_tokens: int
    tool_calls: int
    duration_ms: int


class AlertInput(BaseModel):
    """Something an admin must hear about."""

    tenant_id: str
    kind: str = Field(description="e.g. run_expired, agent_offline, stuck_agent")
    subject: str = Field(description="What it is about: an agent id, a run id")
    detail: str


class AgentOutcome(BaseModel):
    """What one agent run ended with."""

    agent_id: str
    run_id: str
    status: Literal["answered", "max_turns", "expired", "failed", "rejected", "interrupted"] = (
        "answered")
    final: str | None = None
    error: str | None = None
    turns: int = 0
    tool_calls: int = 0
    tool_log: list[ToolLog] = Field(default_factory=list, description=(
        "A session's turn: the tools called and their results (empty outside sessions)"))
    delegated: list[str] = Field(default_factory=list, description=(
        "Run ids of the child runs this run delegated to (README, Delegation)"))
