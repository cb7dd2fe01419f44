"""``switchboard up`` as a new user runs it: the real console script, the real embedded stack.

One story, start to finish: start on an empty data dir, deliver a signed GitHub webhook, watch
the demo agent answer it (and find the line in its log file already), check that only the API
and the platform worker hold the root secrets in their environment, stop with SIGTERM and leave
nothing behind, start again on the same data dir and find the event and the admin token still
there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tests import corpus
from tests.harness import free_port

SWITCHBOARD = Path(sys.executable).parent / "switchboard"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
ENTRY = "github.issues.opened"
UNRELATED = "UNRELATED_TO_SWITCHBOARD_CANARY"


def _clean_env() -> dict[str, str]:
    """The environment minus anything that would replace the embedded defaults.

    Plus a variable no child needs: ``up`` must not pass its whole environment on.
    """
    return {
        **{k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS") and not k.startswith("SWITCHBOARD_")},
        UNRELATED: "1",
    }


def _environ(pid: int) -> dict[str, str]:
    """A process' environment as the kernel shows it to any process of the same user."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode(errors="replace").partition("=")[::2]
                for item in raw.split(b"\0") if item)


def _role(cmdline: str) -> str:
    for needle, role in ((" -m cli api", "api"), (" -m cli worker", "worker"),
                         (" -m cli agent run", "agent"), ("start-dev", "temporal")):
        if needle in cmdline:
            return role
    return "postgres" if "postgres" in cmdline else "other"


def _assert_secrets_only_where_needed(up: Up, tree: set[int], token: str, key: str) -> None:
    """The admin token only in the API; the master key and the database URL only in the API
    and the platform worker; none of ``up``'s own environment it was not asked to pass on."""
    seen: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for pid in tree:
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            env = _environ(pid)
            role = _role(cmdline)
            seen.setdefault(role, env)
            holds = {name for name, value in (("admin token", token), ("master key", key))
                     if value in env.values()}
            if "DATABASE_URL" in env or any(v.startswith("postgresql://") for v in env.values()):
                holds.add("database URL")
            allowed = {"api": {"admin token", "master key", "database URL"},
                       "worker": {"master key", "database URL"}}.get(role, set())
            if holds - allowed:
                problems.append(f"{role} (pid {pid}) holds {sorted(holds - allowed)}")
            # PostgreSQL is started by its wheel with up's environment (minus the root secrets).
            if role != "postgres" and UNRELATED in env:
                problems.append(f"{role} (pid {pid}) got up's whole environment")
    assert not problems, up.why("\n".join(sorted(set(problems))))
    assert {"api", "worker", "agent", "temporal", "postgres"} <= set(seen), up.why(str(seen))
    assert seen["api"]["SWITCHBOARD_ADMIN_TOKEN"] == token
    assert seen["worker"]["SWITCHBOARD_MASTER_KEY"] == key
    agent = seen["agent"]
    assert agent["TEMPORAL_ADDRESS"] == seen["api"]["TEMPORAL_ADDRESS"]
    assert not [k for k in agent if k.startswith(("DATABASE_", "VAULT_"))], up.why(str(agent))
    assert agent.get("PYTHONUNBUFFERED") == "1" and "PATH" in agent


def _pids_matching(needle: str) -> dict[int, str]:
    """Live (non-zombie) processes whose command line contains ``needle``."""
    found: dict[int, str] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if needle in cmdline and state != "Z":
                found[int(proc.name)] = cmdline.strip()
    return found


def _descendants(root: int) -> set[int]:
    """Every live process below ``root`` in the process tree."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(proc.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Up:
    """A running ``switchboard up``; its merged output is collected line by line."""

    def __init__(self, data_dir: Path, api: int, temporal: int, ui: int) -> None:
        self.data_dir = data_dir
        argv = [str(SWITCHBOARD), "up", "--data-dir", str(data_dir), "--port", str(api),
                "--temporal-port", str(temporal), "--ui-port", str(ui)]
        self.proc = subprocess.Popen(
            argv, env=_clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
        )
        self.lines: list[str] = []
        self.children: dict[int, str] = {}  # pid -> cmdline, recorded once the stack is up
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self) -> str:
        """Everything printed so far."""
        with self._changed:
            return "\n".join(self.lines)

    def why(self, message: str) -> str:
        """An assertion message with the process' output attached."""
        return f"{message}\n--- switchboard up output ---\n{self.output()}"

    def wait_for_line(self, match: Callable[[str], bool], what: str,
                      timeout: float = START_TIMEOUT) -> str:
        """The first output line ``match`` accepts; fails on timeout or early exit."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if match(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(self.why(
                        f"no {what} after {timeout - max(left, 0):.0f}s "
                        f"(exit code {self.proc.poll()})"))
                self._changed.wait(min(left, 0.5))

    def stop(self) -> int:
        """SIGTERM, then the exit code; fails if it takes longer than STOP_TIMEOUT."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(self.why(
                f"still running {STOP_TIMEOUT:.0f}s after SIGTERM")) from None
        self._reader.join(5)
        return code

    def record_children(self) -> set[int]:
        """Remember the processes below us, so that a failed test can still kill them."""
        tree = _descendants(self.proc.pid)
        with contextlib.suppress(OSError, ValueError, IndexError):  # postgres daemonizes
            postmaster = int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
            tree |= {postmaster} | _descendants(postmaster)
        for pid in tree:
            with contextlib.suppress(OSError):
                self.children[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().decode(
                    errors="replace")
        return tree

    def kill(self) -> None:
        """Clean up after a failure: graceful stop first, then kill whatever is left."""
        if self.proc.poll() is None:
            self.record_children()
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(STOP_TIMEOUT)
        # Our children run in their own sessions and postgres daemonizes, so a process-group kill
        # alone would leave them behind: kill the tree we saw and anything using our data dir.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid, cmdline in self.children.items():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace") == cmdline:
                    os.kill(pid, signal.SIGKILL)
        for pid in _pids_matching(str(self.data_dir)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(10)


@contextlib.contextmanager
def switchboard_up(data_dir: Path, api: int, temporal: int, ui: int) -> Iterator[Up]:
    """Start ``switchboard up`` and wait for its banner; on any failure, kill everything."""
    up = Up(data_dir, api, temporal, ui)
    try:
        up.wait_for_line(lambda line: "Switchboard is up." in line, "'Switchboard is up.' banner")
        up.wait_for_line(lambda line: "Press Ctrl-C" in line, "end of the banner", timeout=5)
        up.record_children()
        yield up
    finally:
        left = [p for p in up.children if _alive(p)] + list(_pids_matching(str(data_dir)))
        if up.proc.poll() is None or left:
            up.kill()


def _poll(check: Callable[[], Any], timeout: float, what: str, up: Up) -> Any:
    """Call ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            last = check()
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(up.why(f"{what} did not happen in {timeout:.0f}s (last: {last!r})"))


def _event(http: httpx.Client, token: str, dedup_key: str) -> dict[str, Any] | None:
    r = http.get("/admin/tenants/demo/events", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return next((e for e in r.json() if e["dedup_key"] == dedup_key), None)


def _assert_stopped(up: Up, ports: tuple[int, ...], tree: set[int]) -> None:
    code = up.stop()
    assert code == 0, up.why(f"exit code {code} after SIGTERM")
    assert "switchboard | stopped" in up.output(), up.why("no 'stopped' line")
    left = {pid for pid in tree if _alive(pid)}
    assert not left, up.why(f"child processes still running: {left}")
    still = _pids_matching(str(up.data_dir))
    assert not still, up.why(f"processes still using the data dir: {still}")
    busy = [port for port in ports if _listening(port)]
    assert not busy, up.why(f"something still listens on {busy}")


def test_up_serves_the_demo_and_keeps_its_data(tmp_path: Path) -> None:
    assert SWITCHBOARD.is_file(), f"console script missing at {SWITCHBOARD}"
    data = (tmp_path / "data").resolve()
    api, temporal, ui = free_port(), free_port(), free_port()
    ports = (api, temporal, ui)
    base = f"http://127.0.0.1:{api}"
    e = corpus.entry(ENTRY)

    with switchboard_up(data, *ports) as up, httpx.Client(base_url=base, timeout=10) as http:
        out = up.output()
        assert f"API          {base}\n" in out + "\n", up.why("banner lacks the API URL")
        assert f"{base}/docs" in out, up.why("banner lacks the docs URL")
        assert f"http://127.0.0.1:{ui}/" in out, up.why("banner lacks the Temporal UI URL")

        token = (data / "admin-token").read_text().strip()
        assert token and (data / "master.key").is_file()
        admin = {"Authorization": f"Bearer {token}"}
        r = http.put("/admin/tenants/demo/integrations/github", headers=admin,
                     json={"secret": corpus.secret("github")})
        assert r.status_code == 204, up.why(r.text)

        r = http.post("/webhooks/github/demo", content=corpus.body(e), headers=e["headers"])
        assert r.status_code == 202, up.why(r.text)
        dedup_key = r.json()["dedup_key"]

        def dispatched() -> dict[str, Any] | None:
            event = _event(http, token, dedup_key)
            done = event and event["status"] == "dispatched" and event["outcomes"]
            return event if done else None

        event = _poll(dispatched, 30, "event dispatched", up)
        assert event["agent_ids"] == ["demo"], up.why(str(event))
        finals = [o.get("final") or "" for o in event["outcomes"]]
        assert any("demo agent" in f for f in finals), up.why(f"outcomes: {event['outcomes']}")
        handled = up.wait_for_line(lambda line: line.lstrip().startswith("agent:demo |")
                                   and "handled" in line, "'handled' line from agent:demo",
                                   timeout=10)
        # What the terminal shows is already in the log file: were `up` killed now, it stays.
        logged = (data / "logs" / "agent-demo.log").read_text()
        assert handled.split(" | ", 1)[1] in logged, up.why(f"agent-demo.log holds:\n{logged}")

        r = http.get("/docs")
        assert r.status_code == 200 and "swagger" in r.text.lower(), up.why(r.text[:200])
        ui_status = _poll(lambda: httpx.get(f"http://127.0.0.1:{ui}/", timeout=5).status_code,
                          15, "Temporal UI answering", up)
        assert ui_status < 500, up.why(f"Temporal UI answered {ui_status}")

        tree = up.record_children()
        assert len(tree) >= 5, up.why(f"expected postgres, temporal, api, worker, agent: {tree}")
        key = (data / "master.key").read_text().strip()
        _assert_secrets_only_where_needed(up, tree, token, key)
        assert any(f"-D {data / 'postgres'}" in c for c in _pids_matching(str(data)).values()), \
            up.why("no postgres process on the data dir")
        _assert_stopped(up, ports, tree)

    with switchboard_up(data, *ports) as up, httpx.Client(base_url=base, timeout=10) as http:
        assert "created tenant" not in up.output(), up.why("the demo tenant was created again")
        assert (data / "admin-token").read_text().strip() == token
        r = http.get("/admin/tenants/demo/events", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401, up.why(r.text)
        again = _event(http, token, dedup_key)
        assert again is not None, up.why("the event was lost across the restart")
        assert (again["id"], again["status"], again["outcomes"]) == (
            event["id"], "dispatched", event["outcomes"]), up.why(str(again))
        r = http.post("/webhooks/github/demo", content=corpus.body(e), headers=e["headers"])
        assert (r.status_code, r.json()["status"]) == (200, "duplicate"), up.why(r.text)
        _assert_stopped(up, ports, up.record_children())
