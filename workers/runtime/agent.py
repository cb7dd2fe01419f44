"""AgentRuntime: an agent's two activities, think and run_tool, on its own task queue.

``think`` renders the system prompt, replays the run's steps as a conversation, asks the LLM
and returns a final answer or tool calls. ``run_tool`` runs one call through the skill
registry. Both heartbeat while they work (see ``heartbeat``). Without an LLM, think answers with
the labelled offline demo policy.

Errors become ``ApplicationError`` with a type the retry policies know: ``UnknownTool`` and
``InvalidToolArguments`` (not retried: AgentRunWorkflow shows the message to the agent, which
can correct itself), ``InvalidPromptTemplate`` (not retried: fix the template), and the LLM's
own (see ``openai_llm``).
"""

from __future__ import annotations

import logging

from temporalio import activity
from temporalio.exceptions import ApplicationError

from workers.runtime.demo import demo_answer
from workers.runtime.heartbeat import DEFAULT_EVERY, heartbeating
from workers.runtime.llm import LLM, ToolSpec
from workers.runtime.messages import conversation
from workers.runtime.prompts import (
    PromptTemplate,
    PromptTemplateError,
    context_lines,
    memory_lines,
    prompt_values,
    tool_lines,
)
from workers.runtime.skills import InvalidSkillArguments, SkillRegistry, UnknownSkill
from workflows.contracts import ThinkInput, ThinkOutput, ToolInput, ToolResult
from workflows.errors import ErrorType
from workflows.names import THINK_ACTIVITY, TOOL_ACTIVITY

log = logging.getLogger(__name__)


class AgentRuntime:
    """One agent's brain (an LLM, or the demo policy) and hands (its skills)."""

    def __init__(self, agent_id: str, llm: LLM | None = None,
                 skills: SkillRegistry | None = None, prompt: PromptTemplate | None = None,
                 *, heartbeat_every: float = DEFAULT_EVERY) -> None:
        self.agent_id = agent_id
        self.llm = llm
        self.skills = skills if skills is not None else SkillRegistry()
        self.prompt = prompt if prompt is not None else PromptTemplate.default()
        self.heartbeat_every = heartbeat_every

    def describe(self) -> str:
        """The brain and the skills, for the startup line (no secrets)."""
        brain = self.llm.describe() if self.llm else "demo (deterministic offline policy, no LLM)"
        names = self.skills.names()
        listed = f": {', '.join(names[:12])}{', ...' if len(names) > 12 else ''}" if names else ""
        return f"LLM {brain}; {len(names)} skills{listed}"

    def system_prompt(self, inp: ThinkInput) -> str:
        """The rendered system prompt of a turn (cached across turns)."""
        offered = [(s.name, s.description) for s in self.skills.skills()]
        offered += [(t.name, t.description) for t in inp.gateway_tools]
        return self.prompt.render(prompt_values(inp.profile, inp.event, tool_lines(offered),
                                                context_lines(inp.context),
                                                memory_lines(inp.memory)))

    def tool_specs(self, inp: ThinkInput) -> list[ToolSpec]:
        """The agent's own skills plus the gateway intents it is granted, as LLM functions."""
        specs = self.skills.specs()
        own = set(self.skills.names())
        specs += [{"type": "function", "function": {
            "name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in inp.gateway_tools if t.name not in own]
        return specs

    @activity.defn(name=THINK_ACTIVITY)
    async def think(self, inp: ThinkInput) -> ThinkOutput:
        """Decide the next step: a final answer, or tools to run first."""
        if self.llm is None:
            answer = demo_answer(self.agent_id, inp.event, inp.conversation)
            log.info("agent %s handled %s: %s", self.agent_id, inp.run_id, answer)
            return ThinkOutput(final=answer)
        try:
            messages = conversation(self.system_prompt(inp), inp)
        except PromptTemplateError as err:
            raise ApplicationError(str(err), type=ErrorType.INVALID_PROMPT_TEMPLATE,
                                   non_retryable=True) from None
        last_turn = inp.turn >= inp.max_turns
        tools = [] if last_turn else self.tool_specs(inp)
        async with heartbeating(self.heartbeat_every):
            reply = await self.llm.complete(messages, tools)
        if reply.tool_calls:
            log.info("agent %s %s turn %d: calls %s", self.agent_id, inp.run_id, inp.turn,
                     ", ".join(c.name for c in reply.tool_calls))
            own = set(self.skills.names())
            gateway = {t.name for t in inp.gateway_tools} - own
            calls = [c.model_copy(update={"target": "gateway"}) if c.name in gateway else c
                     for c in reply.tool_calls]
            return ThinkOutput(thought=reply.content, tool_calls=calls, usage=reply.usage)
        log.info("agent %s handled %s at turn %d: final answer (%d chars)", self.agent_id,
                 inp.run_id, inp.turn, len(reply.content or ""))
        return ThinkOutput(final=reply.content or "", usage=reply.usage)

    @activity.defn(name=TOOL_ACTIVITY)
    async def run_tool(self, inp: ToolInput) -> ToolResult:
        """Run one tool call through the skill registry."""
        call = inp.call
        try:
            async with heartbeating(self.heartbeat_every):
                result = await self.skills.call(call.name, call.arguments)
        except UnknownSkill as err:
            raise ApplicationError(str(err), type=ErrorType.UNKNOWN_TOOL,
                                   non_retryable=True) from None
        except InvalidSkillArguments as err:
            raise ApplicationError(str(err), type=ErrorType.INVALID_TOOL_ARGUMENTS,
                                   non_retryable=True) from None
        return ToolResult(call_id=call.id, name=call.name, content=result.content,
                          is_error=result.is_error)
