"""Pydantic contracts for every workflow and activity.

Each workflow, activity, signal and update takes one of these models and returns one; they travel
through Temporal's pydantic data converter, so what is here is exactly what Event History shows.
Nothing in these models may ever hold a secret.
"""

from workflows.contracts.agents import (
    AgentOutcome,
    AgentProfile,
    AgentRunInput,
    AgentTarget,
    AlertInput,
    ContextItem,
    GatewayCall,
    GatewayTool,
    Step,
    ThinkInput,
    ThinkOutput,
    ToolCall,
    ToolInput,
    ToolResult,
    Usage,
    UsageRecord,
)
from workflows.contracts.context import (
    ContextBundle,
    SummaryStored,
    ThreadRef,
    ThreadsDue,
)
from workflows.contracts.control import (
    ControlChange,
    ControlGate,
    ControlState,
    PresenceChange,
    PresenceInput,
    StopAll,
)
from workflows.contracts.events import (
    Actor,
    EventKind,
    EventStatus,
    ItemRef,
    ProjectHint,
    Provider,
    StandardEvent,
)
from workflows.contracts.pipeline import (
    DispatchPlan,
    EnrichedEvent,
    EventInput,
    EventResult,
    PlanInput,
    PreparedEvent,
    PrepareInput,
    RecordOutcomeInput,
    ResolveOutput,
)

__all__ = [
    "Actor",
    "AgentOutcome",
    "AgentProfile",
    "AgentRunInput",
    "AgentTarget",
    "AlertInput",
    "ContextBundle",
    "ContextItem",
    "ControlChange",
    "ControlGate",
    "ControlState",
    "DispatchPlan",
    "EnrichedEvent",
    "EventInput",
    "EventKind",
    "EventResult",
    "EventStatus",
    "GatewayCall",
    "GatewayTool",
    "ItemRef",
    "PlanInput",
    "PrepareInput",
    "PreparedEvent",
    "PresenceChange",
    "PresenceInput",
    "ProjectHint",
    "Provider",
    "RecordOutcomeInput",
    "ResolveOutput",
    "StandardEvent",
    "Step",
    "StopAll",
    "SummaryStored",
    "ThinkInput",
    "ThinkOutput",
    "ThreadRef",
    "ThreadsDue",
    "ToolCall",
    "ToolInput",
    "ToolResult",
    "Usage",
    "UsageRecord",
]
