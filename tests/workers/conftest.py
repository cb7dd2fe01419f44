"""Shared pieces of the agent runtime tests: an event, think inputs, real MCP servers, a repo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workflows.contracts import (
    Actor,
    AgentProfile,
    EventKind,
    ItemRef,
    Provider,
    StandardEvent,
    Step,
    ThinkInput,
)

BIN = Path(sys.executable).parent


def binary(name: str) -> str:
    """A console script installed with the test extras (next to the interpreter, or on PATH)."""
    local = BIN / name
    found = str(local) if local.exists() else shutil.which(name)
    assert found, f"{name} is not installed (pip install -e '.[test]')"
    return found


def make_event(title: str = "Login button does nothing on Safari") -> StandardEvent:
    """A GitHub issue, as the pipeline hands it to agents."""
    return StandardEvent(
        tenant_id="acme", provider=Provider.GITHUB, source_event="issues.opened",
        kind=EventKind.NEW_WORK_ITEM, actor=Actor(id="42", name="alice"), title=title,
        text="Clicking Login on Safari 17 does nothing; Chrome works.",
        url="https://github.com/acme/frontend/issues/7",
        ref=ItemRef(container="acme/frontend", item="7"), mentions=["@AI_Squad"])


def think_input(turn: int = 1, steps: list[Step] | None = None, max_turns: int = 8,
                run_id: str = "run/acme/github/d1/coder", title: str | None = None
                ) -> ThinkInput:
    """The think input of one turn of a run of agent ``coder``."""
    event = make_event(title) if title else make_event()
    return ThinkInput(run_id=run_id, agent_id="coder",
                      profile=AgentProfile(agent_id="coder", name="Cody", role="frontend dev"),
                      turn=turn, max_turns=max_turns, event=event, steps=steps or [])


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """A real git repository with one commit and one untracked file."""
    repo = tmp_path / "repo"
    repo.mkdir()
    env = ["-c", "user.name=Test Author", "-c", "user.email=test@example.com"]

    def git(*args: str) -> None:
        subprocess.run(["git", *env, *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (repo / "README.md").write_text("# frontend\n")
    git("add", "README.md")
    git("commit", "-q", "-m", "Initial commit: README")
    (repo / "notes.txt").write_text("untracked\n")
    return repo
