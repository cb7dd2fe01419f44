"""Typed skills: each tool is defined once, with its argument model, result model and code.

The registry is the only place a tool exists: it yields the OpenAI function schemas offered to
the LLM and runs the calls the LLM asks for. Errors it raises, all ``SkillError``::

    SkillError
    ├── UnknownSkill            no skill of that name (the LLM invented one)
    ├── InvalidSkillArguments   the arguments do not validate; the message lists every problem
    └── DuplicateSkill          two skills with one name (raised when registering)

A skill reports a failure the agent should see and adapt to by raising ``ToolFailure``; the
registry turns it into an error result. Any other exception propagates, so that Temporal
retries the step (a transient fault).
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)
SkillFn = Callable[[In], Awaitable[Out]]

# What OpenAI-compatible endpoints accept as a function name.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SkillError(Exception):
    """Base of the registry's errors."""


class UnknownSkill(SkillError, LookupError):
    """No skill has that name."""


class InvalidSkillArguments(SkillError, ValueError):
    """The arguments of a call do not validate against the skill's input model."""


class DuplicateSkill(SkillError, ValueError):
    """A skill of that name is already registered."""


class ToolFailure(Exception):
    """Raised by a skill: the tool failed in a way the agent should see (no retry)."""


class TextOutput(BaseModel):
    """A skill result that is plain text (what MCP tools answer)."""

    text: str


@dataclass(frozen=True)
class SkillResult:
    """What a call answered: the content shown to the LLM, and whether it is an error."""

    content: str
    is_error: bool = False


@dataclass(frozen=True)
class Skill(Generic[In, Out]):
    """One tool: name, description, typed input and output, and the coroutine that runs it."""

    name: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    fn: SkillFn[In, Out]
    schema: dict[str, Any] | None = None  # overrides the input model's JSON schema (MCP tools)

    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments, as offered to the LLM."""
        if self.schema is not None:
            return dict(self.schema)
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        return schema

    def spec(self) -> dict[str, Any]:
        """The OpenAI function-tool schema of this skill."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description, "parameters": self.parameters()}}


def describe_problems(err: ValidationError) -> str:
    """Pydantic's problems as one line: ``field: message; other: message``."""
    parts = []
    for problem in err.errors(include_url=False):
        where = ".".join(str(p) for p in problem["loc"])
        parts.append(f"{where}: {problem['msg']}" if where else str(problem["msg"]))
    return "; ".join(parts)


class SkillRegistry:
    """Every skill an agent can use, by name."""

    def __init__(self) -> None:
        self._skills: dict[str, Skill[Any, Any]] = {}

    def add(self, skill: Skill[In, Out]) -> Skill[In, Out]:
        """Register a skill; its name must be unique and valid as an OpenAI function name."""
        if not NAME_PATTERN.match(skill.name):
            raise ValueError(f"skill name {skill.name!r} must match {NAME_PATTERN.pattern}")
        if skill.name in self._skills:
            raise DuplicateSkill(f"skill {skill.name!r} is registered twice; give one of the "
                                 "skill sets a prefix (e.g. --mcp 'git=mcp-server-git ...')")
        self._skills[skill.name] = skill
        return skill

    def remove(self, name: str) -> None:
        """Forget a skill (when its MCP server shuts down)."""
        self._skills.pop(name, None)

    def skill(self, name: str | None = None, description: str | None = None
              ) -> Callable[[SkillFn[In, Out]], SkillFn[In, Out]]:
        """Decorator: register ``async def fn(args: InModel) -> OutModel`` as a skill."""

        def register(fn: SkillFn[In, Out]) -> SkillFn[In, Out]:
            try:
                hints = typing.get_type_hints(fn)
            except NameError as err:  # a model defined where its module cannot see it
                raise TypeError(f"skill {fn.__name__}: cannot resolve its types: {err}") from None
            params = [p for p in inspect.signature(fn).parameters if p != "return"]
            if len(params) != 1 or params[0] not in hints or "return" not in hints:
                raise TypeError(f"skill {fn.__name__} must be `async def f(args: In) -> Out` "
                                "with pydantic models In and Out")
            doc = (inspect.getdoc(fn) or "").strip().splitlines()
            self.add(Skill(name=name or fn.__name__,
                           description=description or (doc[0] if doc else ""),
                           input_model=hints[params[0]], output_model=hints["return"], fn=fn))
            return fn

        return register

    def get(self, name: str) -> Skill[Any, Any]:
        """The skill of that name, or ``UnknownSkill`` naming the ones that exist."""
        try:
            return self._skills[name]
        except KeyError:
            known = ", ".join(sorted(self._skills)) or "none"
            raise UnknownSkill(f"unknown tool {name!r}; available tools: {known}") from None

    def names(self) -> list[str]:
        """Every skill name, sorted."""
        return sorted(self._skills)

    def skills(self) -> list[Skill[Any, Any]]:
        """Every skill, sorted by name."""
        return [self._skills[n] for n in self.names()]

    def __len__(self) -> int:
        return len(self._skills)

    def __contains__(self, name: object) -> bool:
        return name in self._skills

    def specs(self) -> list[dict[str, Any]]:
        """The OpenAI function-tool schemas of every skill."""
        return [s.spec() for s in self.skills()]

    async def call(self, name: str, arguments: dict[str, Any]) -> SkillResult:
        """Validate the arguments, run the skill and render its result as text."""
        skill = self.get(name)
        try:
            args = skill.input_model.model_validate(arguments)
        except ValidationError as err:
            raise InvalidSkillArguments(
                f"invalid arguments for {name}: {describe_problems(err)}") from None
        try:
            out = await skill.fn(args)
        except ToolFailure as failure:
            return SkillResult(content=str(failure) or f"{name} failed", is_error=True)
        if not isinstance(out, skill.output_model):
            raise TypeError(f"skill {name} returned {type(out).__name__}, "
                            f"not {skill.output_model.__name__}")
        text = out.text if isinstance(out, TextOutput) else out.model_dump_json()
        return SkillResult(content=text)
