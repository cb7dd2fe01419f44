"""The skill registry: one entry per tool, schemas for the LLM, clear errors for bad calls."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from workers.runtime.skills import (
    DuplicateSkill,
    InvalidSkillArguments,
    Skill,
    SkillRegistry,
    ToolFailure,
    UnknownSkill,
)


class AddArgs(BaseModel):
    """Two numbers."""

    a: int = Field(description="first addend")
    b: int = Field(description="second addend")


class Sum(BaseModel):
    """Their sum."""

    total: int


def registry() -> SkillRegistry:
    skills = SkillRegistry()

    @skills.skill()
    async def add(args: AddArgs) -> Sum:
        """Add two integers.

        More detail that is not part of the description.
        """
        return Sum(total=args.a + args.b)

    @skills.skill(name="divide", description="Divide a by b")
    async def divide(args: AddArgs) -> Sum:
        if args.b == 0:
            raise ToolFailure("cannot divide by zero")
        return Sum(total=args.a // args.b)

    return skills


def test_specs_are_openai_function_tools_from_the_input_model() -> None:
    specs = {s["function"]["name"]: s for s in registry().specs()}
    assert set(specs) == {"add", "divide"}
    add = specs["add"]
    assert add["type"] == "function"
    assert add["function"]["description"] == "Add two integers."
    params = add["function"]["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["a", "b"]
    assert params["properties"]["a"] == {"description": "first addend", "title": "A",
                                         "type": "integer"}
    assert specs["divide"]["function"]["description"] == "Divide a by b"


async def test_call_validates_runs_and_renders_the_output_model() -> None:
    result = await registry().call("add", {"a": 2, "b": "40"})
    assert (result.content, result.is_error) == ('{"total":42}', False)


async def test_invalid_arguments_list_every_problem() -> None:
    with pytest.raises(InvalidSkillArguments) as err:
        await registry().call("add", {"a": "two"})
    assert str(err.value) == ("invalid arguments for add: a: Input should be a valid integer, "
                              "unable to parse string as an integer; b: Field required")


async def test_unknown_tool_names_the_available_ones() -> None:
    with pytest.raises(UnknownSkill) as err:
        await registry().call("multiply", {"a": 1, "b": 2})
    assert str(err.value) == "unknown tool 'multiply'; available tools: add, divide"


async def test_a_tool_failure_is_an_error_result_the_agent_sees() -> None:
    result = await registry().call("divide", {"a": 1, "b": 0})
    assert (result.content, result.is_error) == ("cannot divide by zero", True)


async def test_other_exceptions_propagate_for_temporal_to_retry() -> None:
    skills = SkillRegistry()

    async def flaky(args: AddArgs) -> Sum:
        raise ConnectionError("backend away")

    skills.add(Skill("flaky", "", AddArgs, Sum, flaky))
    with pytest.raises(ConnectionError):
        await skills.call("flaky", {"a": 1, "b": 1})


def test_each_tool_is_defined_once() -> None:
    skills = registry()
    with pytest.raises(DuplicateSkill, match="'add' is registered twice"):
        skills.add(Skill("add", "again", AddArgs, Sum, skills.get("add").fn))
    with pytest.raises(ValueError, match="must match"):
        skills.add(Skill("has space", "", AddArgs, Sum, skills.get("add").fn))
    assert skills.names() == ["add", "divide"] and len(skills) == 2 and "add" in skills
