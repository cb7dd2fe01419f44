"""A real smart-HTTP git remote: bare repositories served by ``git http-backend`` (CGI).

Each request runs ``git http-backend`` once, so pushes and fetches are git's own protocol. Every
request must carry ``Authorization: Basic base64(x-access-token:<token>)``; anything else gets 401
with ``WWW-Authenticate``. The fake records each request and whether the token ever appeared in a
URL (it must not). ``fail_next`` makes the next requests answer an HTTP error (e.g. 503).
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.fakes._http import FakeHandler, LocalServer

# Tests must not depend on the machine's git identity or config.
GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "Coder", "GIT_AUTHOR_EMAIL": "coder@example.com",
           "GIT_COMMITTER_NAME": "Coder", "GIT_COMMITTER_EMAIL": "coder@example.com"}


def git(*argv: str, cwd: Path | None = None) -> str:
    """Run git for a test's setup; return its stripped stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | GIT_ENV
    done = subprocess.run(["git", *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


def make_workspace(path: Path, files: dict[str, str] | None = None) -> str:
    """Create a working copy at ``path`` with one commit on ``main``; return its sha."""
    path.mkdir(parents=True, exist_ok=True)
    git("init", "--quiet", "--initial-branch=main", str(path))
    return commit(path, files or {"README.md": "# frontend\n"})


def commit(path: Path, files: dict[str, str], message: str = "Agent change") -> str:
    """Write files into a working copy and commit them; return the new sha."""
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git("add", "--all", cwd=path)
    git("commit", "--quiet", "-m", message, cwd=path)
    return git("rev-parse", "HEAD", cwd=path)


@dataclass(frozen=True)
class GitRequest:
    """A request the remote received."""

    method: str
    path: str
    query: str
    authorized: bool


class FakeGitRemote(LocalServer):
    """The remote; use as a context manager, create repos, read ``requests``."""

    def __init__(self, root: Path, token: str) -> None:
        self.root = root
        self.token = token
        self.requests: list[GitRequest] = []
        self.token_in_url = False
        self.failures: deque[int] = deque()
        self._expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()
        super().__init__(self._handler())

    @property
    def base_url(self) -> str:
        """The git base URL: repositories are ``{base_url}/{owner}/{name}.git``."""
        return self.origin

    def create_repo(self, full_name: str) -> Path:
        """Create an empty bare repository that accepts pushes; return its git dir."""
        bare = self.root / f"{full_name}.git"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(bare))
        git("config", "http.receivepack", "true", cwd=bare)
        return bare

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` authorized requests with this HTTP status."""
        self.failures.extend([status] * times)

    def _cgi(self, method: str, path: str, query: str, headers: dict[str, str],
             body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        env = {"PATH": os.environ.get("PATH", ""), "GIT_PROJECT_ROOT": str(self.root),
               "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path, "REQUEST_METHOD": method,
               "QUERY_STRING": query, "CONTENT_TYPE": headers.get("content-type", ""),
               "CONTENT_LENGTH": str(len(body)), "REMOTE_USER": "x-access-token",
               "REMOTE_ADDR": "127.0.0.1", "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_CONFIG_GLOBAL": os.devnull}
        if "content-encoding" in headers:
            env["HTTP_CONTENT_ENCODING"] = headers["content-encoding"]
        if "git-protocol" in headers:
            env["GIT_PROTOCOL"] = headers["git-protocol"]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True,
                             check=False).stdout
        head, _, payload = out.partition(b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n")
        status, extra = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                extra.append((name, value.strip()))
        return status, extra, payload

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(FakeHandler):
            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    return self.read_body()
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)

            def _serve(self) -> None:
                path, _, query = self.path.partition("?")
                headers = self.lower_headers()
                authorized = headers.get("authorization") == fake._expected
                fake.requests.append(GitRequest(self.command, path, query, authorized))
                fake.token_in_url |= fake.token in self.path
                body = self._body()
                if not authorized:
                    self.answer(401, b"", [("WWW-Authenticate", 'Basic realm="fake-git"')])
                    return
                if fake.failures:
                    self.answer(fake.failures.popleft(), b"injected failure\n")
                    return
                status, extra, payload = fake._cgi(self.command, path, query, headers, body)
                self.answer(status, payload, extra)

        return Handler
