"""Prompt templates: interpolated from the agent, event, context and tools; cached; strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workers.conftest import think_input
from tests.workers.test_skills import registry
from workers.runtime.agent import AgentRuntime
from workers.runtime.prompts import (
    PROMPT_VARIABLES,
    PromptTemplate,
    PromptTemplateError,
    prompt_values,
    render_cached,
    tool_lines,
)
from workers.runtime.skills import SkillRegistry


def test_default_prompt_names_agent_event_and_tools() -> None:
    runtime = AgentRuntime("coder", skills=registry())
    prompt = runtime.system_prompt(think_input())
    assert prompt.startswith("You are Cody (agent id coder), an AI agent")
    assert "Your role: frontend dev" in prompt
    assert "An event from github was routed to you:" in prompt
    assert "- kind: new_work_item (issues.opened)" in prompt
    assert "- title: Login button does nothing on Safari" in prompt
    assert "- from: alice" in prompt
    assert "- where: acme/frontend 7" in prompt
    assert "- url: https://github.com/acme/frontend/issues/7" in prompt
    assert "- add: Add two integers.\n- divide: Divide a by b" in prompt
    assert "Context:\n(none)" in prompt  # the context engine comes later; the variable exists


def test_no_tools_and_missing_fields_read_none() -> None:
    prompt = AgentRuntime("coder", skills=SkillRegistry()).system_prompt(think_input())
    assert "Tools you can call:\n(none)" in prompt


def test_unknown_variable_in_a_template_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "coder.txt"
    path.write_text("You are {agent.name}. Ticket: {event.tilte}")
    with pytest.raises(PromptTemplateError) as err:
        PromptTemplate.from_file(path)
    text = str(err.value)
    assert text.startswith(f"{path}: prompt template uses {{event.tilte}}, which is not defined;")
    assert "{event.title}" in text and "{tools}" in text and "{context}" in text


def test_rendering_without_a_value_names_it() -> None:
    template = PromptTemplate("Hi {agent.name}, see {tools}")
    with pytest.raises(PromptTemplateError) as err:
        template.render({"agent.name": "Cody"})
    assert str(err.value) == ("the default template: prompt template uses {tools}, which is not "
                              "defined; available: {agent.name}")


def test_bad_template_syntax_is_refused() -> None:
    with pytest.raises(PromptTemplateError, match="not valid: Single '}'"):
        PromptTemplate("You are {agent.name}}")


def test_a_template_file_with_literal_braces_and_format_specs(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("{{json}} {agent.id!r} [{event.kind:>15}]")
    values = prompt_values(think_input().profile, think_input().event, tool_lines([]))
    assert PromptTemplate.from_file(path).render(values) == "{json} 'coder' [  new_work_item]"
    assert set(values) == set(PROMPT_VARIABLES)


def test_rendered_prompts_are_cached() -> None:
    runtime = AgentRuntime("coder", skills=registry())
    title = "A title nobody rendered before: cache test"
    before = render_cached.cache_info()
    first = runtime.system_prompt(think_input(turn=1, title=title))
    after_first = render_cached.cache_info()
    second = runtime.system_prompt(think_input(turn=2, title=title))  # later turn, same prompt
    after_second = render_cached.cache_info()
    assert first is second
    assert after_first.misses == before.misses + 1 and after_first.hits == before.hits
    assert after_second.hits == after_first.hits + 1 and after_second.misses == after_first.misses
    other = runtime.system_prompt(think_input(title="Another event"))
    assert other is not first and "Another event" in other
