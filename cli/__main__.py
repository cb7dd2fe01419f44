"""``python -m cli``: how ``switchboard up`` starts its API, worker and agent children."""

from __future__ import annotations

from cli.main import run

run()
