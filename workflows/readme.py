"""ReadmeWorkflow: fetch a newly mapped repository's README and store it as its project's README.

Started when a project maps a GitHub repository (the admin API), with the id
``readme/<tenant>/<owner>/<name>`` and "use existing" on conflict, so repeated requests while a
fetch runs coalesce into it. The fetch runs in the platform worker, where the gateway's GitHub
credential is read; only the stored document's id comes back into history.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.context import ContextActivities
    from workflows import policies
    from workflows.contracts.context import ReadmeRequest, ReadmeStored


def readme_workflow_id(tenant_id: str, repo: str) -> str:
    """The id of the README fetch of one tenant's repository."""
    return f"readme/{tenant_id}/{repo}"


@workflow.defn(name="ReadmeWorkflow")
class ReadmeWorkflow:
    """Fetch and store one repository's README."""

    @workflow.run
    async def run(self, request: ReadmeRequest) -> ReadmeStored:
        """One activity: read through the gateway's credential, store as the project README."""
        stored: ReadmeStored = await workflow.execute_activity_method(
            ContextActivities.fetch_readme, request,
            start_to_close_timeout=policies.DB_STEP_TIMEOUT, retry_policy=policies.DB_STEP)
        return stored
