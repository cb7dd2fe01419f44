"""The local fakes the gateway's executors are driven against, one per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.clickup_api import FakeClickUp
from tests.fakes.git_http import FakeGitRemote
from tests.fakes.github_api import FakeGitHub
from tests.fakes.slack_api import FakeSlack

TOKEN = "tok-4f1c9e2b7d0a-never-leak"


@pytest.fixture
def github_api() -> Iterator[FakeGitHub]:
    """GitHub's REST API with repository acme/frontend and its issue #7."""
    with FakeGitHub(TOKEN, repos=("acme/frontend",)) as fake:
        fake.add_issue("acme/frontend", 7)
        yield fake


@pytest.fixture
def git_remote(tmp_path: Path) -> Iterator[FakeGitRemote]:
    """A smart-HTTP git remote holding an empty acme/frontend."""
    with FakeGitRemote(tmp_path / "remote", TOKEN) as fake:
        fake.create_repo("acme/frontend")
        yield fake


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    """Slack's Web API; the bot is in C0FRONTEND, not in C0PRIVATE."""
    with FakeSlack(TOKEN, channels=("C0FRONTEND",), not_member=("C0PRIVATE",)) as fake:
        yield fake


@pytest.fixture
def clickup_api() -> Iterator[FakeClickUp]:
    """ClickUp's API v2 with list 901 and task 86abc."""
    with FakeClickUp(TOKEN, lists=("901",), tasks=("86abc",)) as fake:
        yield fake
