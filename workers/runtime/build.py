"""Build an agent's runtime from its settings: LLM, prompt template, MCP skill sets.

``build_runtime`` is an async context manager: the MCP servers it starts live for the block
(the worker's life) and stop with it, and the LLM client's connections are closed. Anything
misconfigured (no key for ``openai``, no script for ``scripted``, a bad template, an MCP
server that does not start) raises ``RuntimeConfigError`` before any work is taken.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from infra.settings import AgentSettings
from workers.runtime.agent import AgentRuntime
from workers.runtime.heartbeat import DEFAULT_EVERY
from workers.runtime.llm import LLM
from workers.runtime.prompts import PromptTemplate, PromptTemplateError
from workers.runtime.scripted_llm import ScriptedLLM
from workers.runtime.skills import DuplicateSkill, SkillRegistry


class RuntimeConfigError(ValueError):
    """The agent's settings cannot make a working runtime."""


def make_llm(settings: AgentSettings) -> LLM | None:
    """The LLM the settings choose; ``None`` means the offline demo policy."""
    if settings.llm == "demo":
        return None
    if settings.llm == "scripted":
        if settings.script is None:
            raise RuntimeConfigError("llm=scripted needs a script (--script FILE or "
                                     "SWITCHBOARD_AGENT_SCRIPT)")
        try:
            return ScriptedLLM.from_file(settings.script)
        except ValueError as err:
            raise RuntimeConfigError(str(err)) from None
    if settings.api_key is None or not settings.api_key.get_secret_value():
        raise RuntimeConfigError("llm=openai needs an API key: set SWITCHBOARD_AGENT_API_KEY or "
                                 "OPENAI_API_KEY in the agent worker's environment")
    # Imported here: the openai package costs ~0.3 s to import, which demo agents never need.
    from workers.runtime.openai_llm import OpenAILLM

    return OpenAILLM(model=settings.model, api_key=settings.api_key.get_secret_value(),
                     base_url=settings.base_url, timeout=settings.timeout_seconds)


def make_prompt(settings: AgentSettings) -> PromptTemplate:
    """The agent's prompt template: its file, or the built-in one."""
    try:
        if settings.prompt_file is not None:
            return PromptTemplate.from_file(settings.prompt_file)
        return PromptTemplate.default()
    except PromptTemplateError as err:
        raise RuntimeConfigError(str(err)) from None


async def attach_all(stack: AsyncExitStack, registry: SkillRegistry, lines: list[str]) -> None:
    """Start every MCP server of ``lines`` on ``stack``, their tools into ``registry``."""
    # Imported here: the mcp SDK costs ~0.4 s to import, which agents without MCP never need.
    from workers.runtime.mcp_skills import MCPServer, MCPStartError, attach_mcp

    try:
        servers = [MCPServer.parse(line) for line in lines]
    except ValueError as err:
        raise RuntimeConfigError(f"bad MCP server command line: {err}") from None
    for server in servers:
        try:
            await stack.enter_async_context(attach_mcp(registry, server))
        except (MCPStartError, DuplicateSkill) as err:
            raise RuntimeConfigError(str(err)) from None


@asynccontextmanager
async def build_runtime(settings: AgentSettings, agent_id: str, *,
                        skills: SkillRegistry | None = None, llm: LLM | None = None,
                        heartbeat_every: float = DEFAULT_EVERY) -> AsyncIterator[AgentRuntime]:
    """A ready runtime for ``agent_id``, with its MCP servers running for the block.

    ``skills`` adds typed skills of your own to those of the MCP servers; ``llm`` overrides
    the one the settings choose (e.g. a ``ScriptedLLM`` built in a test).
    """
    registry = skills if skills is not None else SkillRegistry()
    prompt = make_prompt(settings)
    brain = llm if llm is not None else make_llm(settings)
    async with AsyncExitStack() as stack:
        if brain is not None:
            stack.push_async_callback(brain.aclose)
        if settings.mcp:
            await attach_all(stack, registry, settings.mcp)
        yield AgentRuntime(agent_id, brain, registry, prompt, heartbeat_every=heartbeat_every)
