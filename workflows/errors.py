"""Every ``ApplicationError`` type we raise, named once.

Raisers (activities, the agent runtime, the LLM clients) and the retry policies in
``workflows/policies.py`` both take the type from here, so a policy can only name a type that
exists; tests/test_contracts.py checks that each type is raised somewhere.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorType(StrEnum):
    """The ``type`` of an ``ApplicationError`` (a str: Temporal matches it by value)."""

    UNKNOWN_DELIVERY = "UnknownDelivery"
    """The inbox row, or its tenant, no longer exists: not retried."""

    MALFORMED_DELIVERY = "MalformedDelivery"
    """A stored payload that cannot be normalized: it will not improve on retry."""

    HELD_BY_KILL_SWITCH = "HeldByKillSwitch"
    """An alert's Slack post held while the kill switch is on: retried until resume (benign)."""

    GATEWAY_RETRYABLE = "GatewayRetryable"
    """A gateway intent's remote failed in a way worth retrying (rate limit, 5xx)."""

    UNKNOWN_TOOL = "UnknownTool"
    """The agent asked for a skill its worker does not have: not retried, shown to the agent."""

    INVALID_TOOL_ARGUMENTS = "InvalidToolArguments"
    """A skill's arguments do not fit its schema: not retried, shown to the agent."""

    INVALID_PROMPT_TEMPLATE = "InvalidPromptTemplate"
    """The agent's prompt template cannot be rendered: not retried (fix the template)."""

    LLM_UNAVAILABLE = "LLMUnavailable"
    """The LLM endpoint is unreachable, timed out or answered 408/409/5xx: retried."""

    LLM_RATE_LIMITED = "LLMRateLimited"
    """The LLM endpoint answered 429: retried after its Retry-After."""

    LLM_REQUEST_REJECTED = "LLMRequestRejected"
    """The LLM endpoint refused the request (any other 4xx): not retried."""

    EMPTY_LLM_REPLY = "EmptyLLMReply"
    """The LLM answered no choices: retried (a new sample)."""

    MALFORMED_TOOL_CALL = "MalformedToolCall"
    """The LLM's tool call is not a function with a JSON object of arguments: retried."""

    SCRIPT_EXHAUSTED = "ScriptExhausted"
    """A scripted LLM (tests, demos) was asked for more replies than it has: not retried."""
