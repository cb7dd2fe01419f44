"""The agent runtime: an LLM, typed skills (own or from MCP servers) and prompt templates.

Build one with ``build_runtime(settings.agent, agent_id)`` and run it with
``workers.agent.runtime_worker(client, tenant_id, runtime)``. The OpenAI adapter
(``workers.runtime.openai_llm``) and MCP skill sets (``workers.runtime.mcp_skills``) are not
imported here: their SDKs are slow to import and a demo agent needs neither.
"""

from workers.runtime.agent import AgentRuntime
from workers.runtime.build import RuntimeConfigError, build_runtime, make_llm
from workers.runtime.llm import LLM, LLMReply
from workers.runtime.prompts import PromptTemplate, PromptTemplateError
from workers.runtime.scripted_llm import ScriptedCall, ScriptedLLM, ScriptedReply
from workers.runtime.skills import (
    InvalidSkillArguments,
    Skill,
    SkillRegistry,
    SkillResult,
    TextOutput,
    ToolFailure,
    UnknownSkill,
)

__all__ = [
    "LLM", "AgentRuntime", "InvalidSkillArguments", "LLMReply", "PromptTemplate",
    "PromptTemplateError", "RuntimeConfigError", "ScriptedCall", "ScriptedLLM", "ScriptedReply",
    "Skill", "SkillRegistry", "SkillResult", "TextOutput", "ToolFailure", "UnknownSkill",
    "build_runtime", "make_llm",
]
