"""Any MCP server as a skill set: started once over stdio, its tools registered as skills.

The server process lives as long as the ``attach_mcp`` block (the worker's life): starting it
costs most of a second, so it is never started per call. Each MCP tool becomes one skill whose
input schema is the tool's own JSON schema (arguments are checked against it before the call,
so the agent gets a clear error it can correct) and whose output is the tool's text content.
A result with ``is_error`` set becomes an error result the agent sees.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shlex
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import jsonschema
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CallToolResult,
    InitializeResult,
    PaginatedRequestParams,
    TextContent,
    Tool,
)
from pydantic import BaseModel, ConfigDict, model_validator

from workers.runtime.skills import Skill, SkillRegistry, TextOutput, ToolFailure

log = logging.getLogger(__name__)

_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)=(.+)$", re.DOTALL)
_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


class MCPStartError(RuntimeError):
    """An MCP server could not be started or did not answer ``initialize``/``tools/list``."""


@dataclass(frozen=True)
class MCPServer:
    """An MCP server to start over stdio, and the prefix its tool names get (if any)."""

    command: str
    args: tuple[str, ...] = ()
    prefix: str = ""

    @classmethod
    def parse(cls, line: str) -> MCPServer:
        """Parse ``[prefix=]command args...`` (shell quoting), e.g. ``time=mcp-server-time``."""
        prefix = ""
        match = _PREFIX.match(line.strip())
        if match and " " not in match.group(1):
            prefix, line = match.group(1), match.group(2)
        words = shlex.split(line)
        if not words:
            raise ValueError(f"MCP server command line {line!r} is empty")
        return cls(command=words[0], args=tuple(words[1:]), prefix=prefix)

    def display(self) -> str:
        """The command line, for logs and errors."""
        cmd = shlex.join([self.command, *self.args])
        return f"{self.prefix}={cmd}" if self.prefix else cmd

    def skill_name(self, tool_name: str) -> str:
        """The skill name of one of this server's tools (prefixed, valid for OpenAI)."""
        name = f"{self.prefix}_{tool_name}" if self.prefix else tool_name
        return _INVALID_NAME_CHARS.sub("_", name)[:64]


class MCPArguments(BaseModel):
    """Arguments of an MCP tool: any JSON object its schema accepts, passed on as given."""

    model_config = ConfigDict(extra="allow")


def arguments_model(tool: Tool) -> type[MCPArguments]:
    """A model that checks arguments against the tool's JSON schema, listing every problem."""
    schema = tool.input_schema
    kind = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        kind.check_schema(schema)
        validator: Any = kind(schema)
    except jsonschema.SchemaError:
        log.warning("MCP tool %s has an invalid input schema; arguments are not checked", tool.name)
        validator = None

    class Arguments(MCPArguments):
        @model_validator(mode="before")
        @classmethod
        def _matches_schema(cls, data: Any) -> Any:
            if validator is not None:
                problems = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
                if problems:
                    raise ValueError("; ".join(_problem(e) for e in problems))
            return data

    Arguments.__name__ = Arguments.__qualname__ = f"{tool.name}_arguments"
    return Arguments


def _problem(err: Any) -> str:
    where = ".".join(str(p) for p in err.absolute_path)
    return f"{where}: {err.message}" if where else str(err.message)


def result_text(result: CallToolResult) -> str:
    """The text an MCP tool answered (structured content when it sent no text)."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        else:
            parts.append(f"[{block.type} content omitted]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content))
    return "\n".join(parts)


def tool_skill(session: ClientSession, server: MCPServer, tool: Tool
               ) -> Skill[MCPArguments, TextOutput]:
    """One MCP tool of a running session, as a skill."""
    tool_name = tool.name

    async def call(args: MCPArguments) -> TextOutput:
        try:
            result = await session.call_tool(tool_name, args.model_dump())
        except MCPError as err:  # the server refused the call (e.g. invalid params)
            raise ToolFailure(f"{tool_name}: {err}") from None
        text = result_text(result)
        if result.is_error:
            raise ToolFailure(text or f"{tool_name} failed")
        return TextOutput(text=text)

    return Skill(name=server.skill_name(tool_name), description=tool.description or "",
                 input_model=arguments_model(tool), output_model=TextOutput, fn=call,
                 schema=tool.input_schema)


async def list_tools(session: ClientSession) -> list[Tool]:
    """Every tool of a session, across pages."""
    page = await session.list_tools()
    tools = list(page.tools)
    while page.next_cursor is not None:
        page = await session.list_tools(params=PaginatedRequestParams(cursor=page.next_cursor))
        tools.extend(page.tools)
    return tools


def single_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one exception inside nested exception groups, if there is exactly one."""
    found: BaseException | None = None
    for inner in group.exceptions:
        leaf = single_leaf(inner) if isinstance(inner, BaseExceptionGroup) else inner
        if leaf is None or found is not None:
            return None
        found = leaf
    return found


async def _start(stack: AsyncExitStack, server: MCPServer, wait: float
                 ) -> tuple[ClientSession, InitializeResult, list[Tool]]:
    params = StdioServerParameters(command=server.command, args=list(server.args))
    try:
        streams = await stack.enter_async_context(stdio_client(params))
    except OSError as err:
        raise MCPStartError(f"cannot start MCP server {server.display()!r}: {err}") from None
    session = await stack.enter_async_context(ClientSession(*streams))
    try:
        async with asyncio.timeout(wait):
            init = await session.initialize()
            return session, init, await list_tools(session)
    except Exception as err:
        raise MCPStartError(f"MCP server {server.display()!r} did not answer: "
                            f"{type(err).__name__}: {err}") from None


@asynccontextmanager
async def attach_mcp(registry: SkillRegistry, server: MCPServer, *, startup_timeout: float = 30.0
                     ) -> AsyncIterator[list[str]]:
    """Start ``server``, register its tools in ``registry`` for the block; yield their names."""
    try:
        async with AsyncExitStack() as stack:
            session, init, tools = await _start(stack, server, startup_timeout)
            names: list[str] = []
            try:
                for tool in tools:
                    names.append(registry.add(tool_skill(session, server, tool)).name)
                log.info("MCP server %s (%s %s): %d tools", server.display(),
                         init.server_info.name, init.server_info.version, len(names))
                yield names
            finally:
                for name in names:
                    registry.remove(name)
    except BaseExceptionGroup as group:  # the SDK's task groups wrap whatever crosses them
        leaf = single_leaf(group)
        if leaf is None:
            raise
        raise leaf from leaf.__cause__
