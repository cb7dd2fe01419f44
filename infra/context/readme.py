"""Starting the README fetch of mapped repositories (ReadmeWorkflow) from the admin API."""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from workflows.contracts.context import ReadmeRequest
from workflows.readme import ReadmeWorkflow, readme_workflow_id

log = logging.getLogger(__name__)


async def start_readme_fetches(client: Client, task_queue: str, tenant_id: str,
                               project_id: str, repos: list[str]) -> list[str]:
    """Start a README fetch per repository (one already running for a repo is kept: requests
    coalesce); return the workflow ids started or joined. Never raises for Temporal's sake:
    a fetch not started is logged, and the repo's next push to its README fetches it."""
    ids = []
    for repo in repos:
        workflow_id = readme_workflow_id(tenant_id, repo)
        try:
            await client.start_workflow(
                ReadmeWorkflow.run,
                ReadmeRequest(tenant_id=tenant_id, repo=repo, project_id=project_id),
                id=workflow_id, task_queue=task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
        except (RPCError, RuntimeError) as err:
            log.warning("README fetch of %s for %s not started: %s", repo, tenant_id, err)
            continue
        ids.append(workflow_id)
    return ids
