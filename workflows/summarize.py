"""Thread summarization, run by the Temporal Schedule ``switchboard-summarize``.

Each pass lists the Slack threads over 50 messages that grew since their last summary and
summarizes each in a child workflow of its own (``summary/<document id>/<messages>``), so a
thread that keeps growing is summarized again, and each summary is visible in the UI.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.context import ContextActivities
    from workflows import policies
    from workflows.contracts import SummaryStored, ThreadRef, ThreadsDue

SCHEDULE_ID = "switchboard-summarize"


@workflow.defn(name="SummarizeThreadWorkflow")
class SummarizeThreadWorkflow:
    """Summarize one thread."""

    @workflow.run
    async def run(self, thread: ThreadRef) -> SummaryStored:
        """Read the thread, summarize it, store the summary."""
        stored: SummaryStored = await workflow.execute_activity_method(
            ContextActivities.summarize_thread, thread,
            start_to_close_timeout=policies.SUMMARY_TIMEOUT, retry_policy=policies.DB_STEP)
        return stored


@workflow.defn(name="SummarizeThreadsWorkflow")
class SummarizeThreadsWorkflow:
    """One pass of the schedule: a child workflow per thread due."""

    @workflow.run
    async def run(self) -> int:
        """Summarize every thread due; return how many."""
        due: ThreadsDue = await workflow.execute_activity_method(
            ContextActivities.threads_to_summarize,
            start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
        await asyncio.gather(*(
            workflow.execute_child_workflow(
                SummarizeThreadWorkflow.run, thread,
                id=f"summary/{thread.document_id}/{thread.message_count}")
            for thread in due.threads))
        return len(due.threads)
