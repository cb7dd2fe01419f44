"""The LLM through the ``openai`` client: any OpenAI-compatible base URL, function calling.

The key belongs to the agent's worker: it comes from the worker's own settings, is handed to the
client and to nothing else. Error texts are scrubbed of it before they reach Temporal.

Temporal owns retries: the client is built with ``max_retries=0`` so every attempt is visible in
Event History. Failures map to ``ApplicationError``:

    408, 409, 5xx, connection error, timeout   LLMUnavailable       retried
    429                                        LLMRateLimited       retried after Retry-After
    any other 4xx                              LLMRequestRejected   not retried
    tool arguments that are not a JSON object  MalformedToolCall    retried (a new sample)
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletion
from opentelemetry import trace
from temporalio.exceptions import ApplicationError

from infra import tracing
from workers.runtime.llm import LLMReply, Message, ToolSpec
from workflows.contracts import ToolCall, Usage
from workflows.errors import ErrorType

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 429})


def retry_after(headers: Any) -> timedelta | None:
    """The delay a ``Retry-After`` (or ``retry-after-ms``) header asks for, if any."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return timedelta(milliseconds=max(0.0, float(raw_ms)))
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return timedelta(seconds=max(0.0, float(raw)))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(timedelta(0), when - datetime.now(UTC))


class OpenAILLM:
    """Chat completions with tools on an OpenAI-compatible endpoint."""

    def __init__(self, *, model: str, api_key: str, base_url: str | None = None,
                 timeout: float = 120.0) -> None:
        self.model = model
        self.base_url = base_url
        self._secret = api_key
        self._client = openai.AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0,
                                          timeout=timeout)

    def describe(self) -> str:
        """Model and endpoint (never the key)."""
        return f"openai {self.model} at {self.base_url or 'the OpenAI API'}"

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def complete(self, messages: list[Message], tools: list[ToolSpec]) -> LLMReply:
        """One chat completion; tools offered as functions when there are any.

        Traced as a GenAI ``chat`` span: model, token counts and finish reason; never the
        messages or the answer.
        """
        extra: dict[str, Any] = {"tools": tools} if tools else {}
        with tracing.span(f"chat {self.model}", {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": self.model, "server.address": self.base_url or "openai",
        }, kind=trace.SpanKind.CLIENT) as span:
            try:
                completion = await self._client.chat.completions.create(
                    model=self.model, messages=cast(Any, messages), **extra)
            except openai.APIStatusError as err:
                span.set_attribute("http.response.status_code", err.status_code)
                raise self._status_error(err) from None
            except openai.APIConnectionError as err:
                raise ApplicationError(
                    self._scrub(f"LLM endpoint unreachable: {err.message}"),
                    type=ErrorType.LLM_UNAVAILABLE) from None
            reply = self._reply(completion)
            _trace_completion(span, completion, reply)
            return reply

    def _status_error(self, err: openai.APIStatusError) -> ApplicationError:
        status = err.status_code
        message = self._scrub(f"LLM endpoint answered {status}: {_detail(err)}")
        if status in RETRYABLE_STATUS or status >= 500:
            return ApplicationError(
                message,
                type=ErrorType.LLM_RATE_LIMITED if status == 429 else ErrorType.LLM_UNAVAILABLE,
                next_retry_delay=retry_after(err.response.headers))
        return ApplicationError(message, type=ErrorType.LLM_REQUEST_REJECTED, non_retryable=True)

    def _reply(self, completion: ChatCompletion) -> LLMReply:
        if not completion.choices:
            raise ApplicationError("LLM answered no choices", type=ErrorType.EMPTY_LLM_REPLY)
        message = completion.choices[0].message
        calls: list[ToolCall] = []
        for call in message.tool_calls or []:
            if call.type != "function":
                raise ApplicationError(f"LLM asked for a {call.type} tool call; only functions "
                                       "are offered", type=ErrorType.MALFORMED_TOOL_CALL)
            calls.append(ToolCall(id=call.id, name=call.function.name,
                                  arguments=_arguments(call.function.name,
                                                       call.function.arguments)))
        usage = None
        if completion.usage is not None:
            usage = Usage(model=completion.model or self.model,
                          input_tokens=completion.usage.prompt_tokens,
                          output_tokens=completion.usage.completion_tokens)
        content = message.content if message.content is not None else message.refusal
        return LLMReply(content=content, tool_calls=calls, usage=usage)

    def _scrub(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "***")
        return text[:1000]


def _trace_completion(span: trace.Span, completion: ChatCompletion, reply: LLMReply) -> None:
    """The GenAI attributes of an answered call: its model, tokens and finish reason."""
    span.set_attribute("gen_ai.response.model", completion.model or "")
    if completion.choices:
        span.set_attribute("gen_ai.response.finish_reasons",
                           [str(completion.choices[0].finish_reason)])
    if reply.usage is not None:
        span.set_attribute("gen_ai.usage.input_tokens", reply.usage.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", reply.usage.output_tokens)
    span.set_attribute("switchboard.tool_calls", len(reply.tool_calls))


def _detail(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(err.message)


def _arguments(name: str, raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError as err:
        raise ApplicationError(f"LLM gave {name} arguments that are not JSON: {err}",
                               type=ErrorType.MALFORMED_TOOL_CALL) from None
    if not isinstance(value, dict):
        raise ApplicationError(f"LLM gave {name} arguments that are not a JSON object",
                               type=ErrorType.MALFORMED_TOOL_CALL)
    return value
