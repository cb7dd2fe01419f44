"""``switchboard normalize``: every corpus payload through the command line, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from tests import corpus

ENTRIES = corpus.entries()
SWITCHBOARD = Path(sys.executable).parent / "switchboard"


def _argv(entry: dict[str, Any], file: Path) -> list[str]:
    event = ["--event", entry["headers"]["X-GitHub-Event"]] if entry["provider"] == "github" else []
    return ["normalize", "--provider", entry["provider"], *event, str(file)]


def _values(node: Any) -> list[Any]:
    """Every value anywhere in a JSON document, lists included as well as their items."""
    if isinstance(node, dict):
        return [v for child in node.values() for v in [child, *_values(child)]]
    if isinstance(node, list):
        return [v for child in node for v in [child, *_values(child)]]
    return []


def _present(expected: Any, values: list[Any]) -> bool:
    # Same type as well as equal, so that 1 never matches True.
    return any(type(v) is type(expected) and v == expected for v in values)


def test_corpus_is_there() -> None:
    assert {e["provider"] for e in ENTRIES} == {"github", "slack", "clickup"}


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_normalize_prints_the_expected_event(
    entry: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_argv(entry, corpus.CORPUS / entry["file"]))
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    event = json.loads(out)
    expect = entry["expect"]
    assert event["kind"] in expect["acceptable_kinds"], event.get("ignore_reason")
    assert (event["provider"], event["tenant_id"]) == (entry["provider"], "cli")
    values = _values(event)
    missing = {k: v for k, v in expect["facts"].items() if not _present(v, values)}
    assert not missing, f"facts not in the printed event: {missing}\n{out}"


def test_normalize_stamps_the_given_tenant(capsys: pytest.CaptureFixture[str]) -> None:
    file = corpus.CORPUS / "clickup" / "taskCreated.json"
    assert main(["normalize", "--provider", "clickup", "--tenant", "acme", str(file)]) == 0
    assert json.loads(capsys.readouterr().out)["tenant_id"] == "acme"


def test_installed_console_script_runs_normalize() -> None:
    entry = corpus.entry("slack.app_mention")
    result = subprocess.run(
        [str(SWITCHBOARD), *_argv(entry, corpus.CORPUS / entry["file"])],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    event = json.loads(result.stdout)
    assert (event["provider"], event["kind"]) == ("slack", "new_work_item")
    assert event["text"] == entry["expect"]["facts"]["text"]


def test_missing_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.json"
    assert main(["normalize", "--provider", "slack", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert str(missing) in err and "cannot read" in err and "No such file" in err


def test_file_that_is_not_json_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "form.txt"
    bad.write_text("token=abc&team_id=T1")
    assert main(["normalize", "--provider", "slack", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert str(bad) in err and "not valid JSON" in err


def test_json_that_is_not_an_object_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "list.json"
    bad.write_text("[1, 2]")
    assert main(["normalize", "--provider", "clickup", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "JSON object" in err


def test_github_without_event_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    file = corpus.CORPUS / "github" / "issues.opened.json"
    assert main(["normalize", "--provider", "github", str(file)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--event" in err and "X-GitHub-Event" in err


def test_unknown_provider_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    file = corpus.CORPUS / "slack" / "app_mention.json"
    with pytest.raises(SystemExit) as exc:
        main(["normalize", "--provider", "jira", str(file)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--provider" in err and "jira" in err and "github" in err
