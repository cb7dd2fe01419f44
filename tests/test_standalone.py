"""The repository stands on its own: its README, examples and fixtures need nothing beside it."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from tests import corpus
from tests.fixtures import collect_github

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# Spelled so that this file does not match itself: a folder beside the repository, or the
# machine's copy of it, reached by a path string or by joining "shared" onto a Path.
OUTSIDE = re.compile(r"\.\./share[d]\b|/work/share[d]\b|/\s*[\"']share[d][\"']\s*/")


def _repo_files() -> list[Path]:
    """Every file of the repository: tracked, or new and not ignored."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout  # fmt: skip
    return [ROOT / name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def _bash_blocks(section: str) -> list[str]:
    """The ```bash blocks of one README section."""
    start = README.index(f"\n## {section}\n")
    end = README.find("\n## ", start + 1)
    return re.findall(r"```bash\n(.*?)```", README[start:end], re.S)


def test_no_file_refers_to_a_folder_beside_the_repository() -> None:
    files = _repo_files()
    assert ROOT / "README.md" in files and ROOT / "tests" / "corpus.py" in files
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_bytes().decode(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_the_pattern_catches_what_it_must() -> None:
    name = "share" + "d"  # not spelled out, or this file would match
    assert OUTSIDE.search(f"--data-binary @../{name}/corpus/x.json")
    assert OUTSIDE.search(f"cat /work/{name}/STYLE.md")
    assert OUTSIDE.search(f'Path(__file__).parents[2] / "{name}" / "corpus"')
    assert not OUTSIDE.search(f"keys {name} by every API process")


def test_walkthrough_signature_matches_the_example_and_the_secret() -> None:
    block = _bash_blocks("Try it: a GitHub issue reaches the demo agent")[0]
    secret = re.search(r'\{\\"secret\\": \\"(.+?)\\"\}', block)
    signature = re.search(r"X-Hub-Signature-256: sha256=([0-9a-f]{64})", block)
    payload = re.search(r"--data-binary @(\S+)", block)
    assert secret and signature and payload, block
    raw = (ROOT / payload.group(1)).read_bytes()
    expected = hmac.new(secret.group(1).encode(), raw, hashlib.sha256).hexdigest()
    assert signature.group(1) == expected
    assert secret.group(1) == corpus.secret("github")  # the secret the fixtures are signed with
    assert raw == corpus.body(corpus.entry("github.issues.opened"))


def test_readme_normalize_commands_run_on_the_shipped_examples(
    capsys: pytest.CaptureFixture[str],
) -> None:
    commands = [line for block in _bash_blocks("Try it: a GitHub issue reaches the demo agent")
                for line in block.splitlines() if " normalize " in line]  # fmt: skip
    assert len(commands) == 2
    for line in commands:
        argv = shlex.split(line)[1:]
        assert (ROOT / argv[-1]).is_file(), argv[-1]
        argv[-1] = str(ROOT / argv[-1])
        assert main(argv) == 0
        out, err = capsys.readouterr()
        assert err == "" and json.loads(out)["kind"] == "new_work_item"


def test_ci_runs_exactly_the_readmes_second_command() -> None:
    second = _bash_blocks("Two commands")[1].strip()
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == second
    assert "ruff check ." in second and "/mypy" in second and second.endswith("/pytest")


def test_fixtures_are_the_collected_bytes_and_name_their_source() -> None:
    listed = {corpus.CORPUS / e["file"] for e in corpus.entries(catalog=True)}
    on_disk = {p for p in corpus.CORPUS.rglob("*.json") if p.name != "index.json"}
    assert listed == on_disk
    for e in corpus.entries(catalog=True):
        assert hashlib.sha256(corpus.body(e)).hexdigest() == e["sha256"], e["id"]
        assert e["source"].get("package") or e["source"].get("repo") or e["source"].get("url")


def _package(tmp_path: Path, catalogs: dict[str, dict[str, list[Any]]]) -> Path:
    """An unpacked npm package of the same shape as @octokit/webhooks-examples."""
    package = tmp_path / "package"
    for name, examples in catalogs.items():
        (package / name).mkdir(parents=True)
        catalog = [{"name": event, "examples": found} for event, found in examples.items()]
        (package / name / "index.json").write_text(json.dumps(catalog))
    (package / "package.json").write_text(json.dumps({"version": "7.6.1"}))
    return package


def test_collector_rebuilds_the_github_fixtures_byte_for_byte(tmp_path: Path) -> None:
    github = corpus.entries("github", catalog=True)
    first = json.loads(corpus.body(github[0]))  # github.com's, so seen before any filler
    catalogs: dict[str, dict[str, list[Any]]] = {}
    for e in sorted(github, key=lambda e: e["source"].get("catalog", collect_github.DOTCOM)
                    != collect_github.DOTCOM):
        source = e["source"]
        examples = catalogs.setdefault(source.get("catalog", collect_github.DOTCOM), {})
        found = examples.setdefault(source["event"], [])
        # The package's examples not kept as files were equal to a kept one: fill with one.
        found.extend([first] * (source["examples_index"] + 1 - len(found)))
        found[source["examples_index"]] = json.loads(corpus.body(e))
    webhooks = tmp_path / "webhooks"
    shutil.copytree(corpus.CORPUS, webhooks)
    for e in github:
        (webhooks / e["file"]).unlink()

    written = collect_github.collect(_package(tmp_path, catalogs), webhooks)

    assert sorted(written) == sorted(e["file"] for e in github)
    for e in github:
        assert (webhooks / e["file"]).read_bytes() == corpus.body(e), e["id"]
    assert (webhooks / "index.json").read_bytes() == (corpus.CORPUS / "index.json").read_bytes()


def test_collector_refuses_an_example_of_another_action(tmp_path: Path) -> None:
    e = corpus.entry("github.issues.opened")
    examples = {"issues": [{"action": "edited"}] * (e["source"]["examples_index"] + 1)}
    webhooks = tmp_path / "webhooks"
    shutil.copytree(corpus.CORPUS, webhooks)
    index = json.loads((webhooks / "index.json").read_text())
    index["entries"] = [x for x in index["entries"] if x["id"] == e["id"]]
    (webhooks / "index.json").write_text(json.dumps(index))
    with pytest.raises(SystemExit, match="action 'edited', not 'opened'"):
        collect_github.collect(_package(tmp_path, {collect_github.DOTCOM: examples}), webhooks)
