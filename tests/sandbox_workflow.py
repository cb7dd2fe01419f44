"""A workflow that breaks determinism, in a module of its own (the sandbox re-imports it)."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


@workflow.defn
class ReadsTheClock:
    """Reads the wall clock, which a workflow must never do."""

    @workflow.run
    async def run(self) -> str:
        """Return the wall-clock time."""
        return datetime.now().isoformat()  # noqa: DTZ005 (the point of the test)
