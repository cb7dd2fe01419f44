"""Admin: projects (ClickUp list <-> Slack channel <-> GitHub repo) and agents' identity links."""

from __future__ import annotations

import logging

import asyncpg
from fastapi import APIRouter, BackgroundTasks, Response
from pydantic import BaseModel, Field
from temporalio.service import RPCError

from api.deps import AdminDep, PoolDep, SettingsDep, TemporalDep
from api.errors import ApiError
from api.inputs import Text
from api.openapi import error_responses
from infra.context.readme import start_readme_fetches
from infra.directory import agents as agent_dir
from infra.directory import projects, tenants
from infra.temporal import LazyClient
from workflows.contracts import Provider

log = logging.getLogger(__name__)

router = APIRouter(prefix="/admin/tenants", tags=["admin: projects"], dependencies=[AdminDep])


class Mapping(BaseModel):
    """An external id that belongs to a project: a repo, a channel or a list."""

    provider: Provider
    external_id: Text = Field(min_length=1, max_length=300,
                              description="owner/repo, Slack channel id, or ClickUp list id")


class Mirror(BaseModel):
    """A ClickUp list and a Slack channel of the project that mirror each other (opt-in)."""

    clickup_list: Text = Field(min_length=1, max_length=300, description="A mapped ClickUp list")
    slack_channel: Text = Field(min_length=1, max_length=300,
                                description="A mapped Slack channel id")


class ProjectBody(BaseModel):
    """A project: its mappings and the agents that get its unclaimed work."""

    name: Text = Field(min_length=1, max_length=200)
    default_agents: list[Text] = Field(default_factory=list)
    mappings: list[Mapping] = Field(default_factory=list)
    mirrors: list[Mirror] = Field(default_factory=list, description=(
        "Pairs kept in mirror (README, \"Mirror\"): a task created in the list opens a thread "
        "in the channel; comments, replies and status changes follow both ways"))


class Project(ProjectBody):
    """A project as the API shows it."""

    id: str


class Identity(BaseModel):
    """An agent's account in a work tool."""

    provider: Provider
    external_id: str
    agent_id: str


def _project(record: projects.ProjectRecord) -> Project:
    return Project(id=record.id, name=record.name, default_agents=record.default_agents,
                   mappings=[Mapping(provider=Provider(m.provider), external_id=m.external_id)
                             for m in record.mappings],
                   mirrors=[Mirror(clickup_list=m.clickup_list, slack_channel=m.slack_channel)
                            for m in record.mirrors])


def _check_mirrors(body: ProjectBody) -> None:
    """Each mirrored list and channel is one of the project's mappings (422 otherwise)."""
    mapped = {(m.provider, m.external_id) for m in body.mappings}
    for mirror in body.mirrors:
        missing = [f"{p.value} {ext}" for p, ext in ((Provider.CLICKUP, mirror.clickup_list),
                                                     (Provider.SLACK, mirror.slack_channel))
                   if (p, ext) not in mapped]
        if missing:
            raise ApiError(422, "mirror_not_mapped",
                           f"a mirror needs mappings of the project: {', '.join(missing)}")


async def _agents_of(pool: asyncpg.Pool, tenant_id: str) -> set[str]:
    if await tenants.get_tenant(pool, tenant_id) is None:
        raise ApiError(404, "unknown_tenant", f"no tenant {tenant_id!r}")
    return {a.id for a in await agent_dir.list_agents(pool, tenant_id)}


@router.put("/{tenant_id}/projects/{project_id}", summary="Create or replace a project",
            responses=error_responses(409))
async def put_project(
    tenant_id: str, project_id: str, body: ProjectBody, pool: PoolDep, temporal: TemporalDep,
    settings: SettingsDep, background: BackgroundTasks,
) -> Project:
    """Each repo, channel or list can belong to one project of the tenant, and each list or
    channel to one mirrored pair (``mirrors``, both of them mappings of the project: 422).

    The README of each mapped GitHub repository is then fetched (through the gateway's GitHub
    credential, in the platform worker) and stored as the project's README.
    """
    agents = await _agents_of(pool, tenant_id)
    if unknown := [a for a in body.default_agents if a not in agents]:
        raise ApiError(422, "unknown_agent", f"tenant has no agent {', '.join(unknown)}")
    _check_mirrors(body)
    try:
        row = await projects.put_project(
            pool, tenant_id, project_id, body.name, body.default_agents,
            [(m.provider.value, m.external_id) for m in body.mappings],
            [(m.clickup_list, m.slack_channel) for m in body.mirrors],
        )
    except asyncpg.UniqueViolationError:
        raise ApiError(409, "mapping_taken",
                       "a mapping already belongs to another project, or a list or channel to "
                       "another mirror (or is listed twice)") from None
    repos = [m.external_id for m in row.mappings if m.provider == Provider.GITHUB.value]
    if repos:
        background.add_task(_fetch_readmes, temporal, settings.temporal.task_queue, tenant_id,
                            project_id, repos)
    return _project(row)


async def _fetch_readmes(temporal: LazyClient, queue: str, tenant_id: str, project_id: str,
                         repos: list[str]) -> None:
    """Start the README fetches after the answer (the mapping never waits for Temporal)."""
    try:
        client = await temporal.get()
    except (RPCError, RuntimeError, OSError) as err:
        temporal.forget()
        log.warning("README fetches for %s not started: cannot reach Temporal: %s",
                    tenant_id, err)
        return
    await start_readme_fetches(client, queue, tenant_id, project_id, repos)


@router.get("/{tenant_id}/projects", summary="List projects")
async def list_projects(tenant_id: str, pool: PoolDep) -> list[Project]:
    """A tenant's projects with their mappings."""
    await _agents_of(pool, tenant_id)
    return [_project(r) for r in await projects.list_projects(pool, tenant_id)]


@router.delete("/{tenant_id}/projects/{project_id}", status_code=204, summary="Delete a project")
async def delete_project(tenant_id: str, project_id: str, pool: PoolDep) -> Response:
    """Its mappings go with it."""
    if not await projects.delete_project(pool, tenant_id, project_id):
        raise ApiError(404, "unknown_project", f"no project {project_id!r}")
    return Response(status_code=204)


@router.put(
    "/{tenant_id}/agents/{agent_id}/identities/{provider}/{external_id}", status_code=204,
    summary="Link a work-tool account to an agent",
)
async def link_identity(
    tenant_id: str, agent_id: str, provider: Provider, external_id: str, pool: PoolDep
) -> Response:
    """Mentions and assignments of this account (e.g. Slack user U123) route to the agent."""
    if agent_id not in await _agents_of(pool, tenant_id):
        raise ApiError(404, "unknown_agent", f"tenant {tenant_id!r} has no agent {agent_id!r}")
    await projects.link_identity(pool, tenant_id, agent_id, provider.value, external_id)
    return Response(status_code=204)


@router.delete(
    "/{tenant_id}/identities/{provider}/{external_id}", status_code=204,
    summary="Remove an identity link",
)
async def unlink_identity(
    tenant_id: str, provider: Provider, external_id: str, pool: PoolDep
) -> Response:
    """The account no longer routes to any agent."""
    if not await projects.unlink_identity(pool, tenant_id, provider.value, external_id):
        raise ApiError(404, "unknown_identity", f"no link for {provider.value} {external_id!r}")
    return Response(status_code=204)


@router.get("/{tenant_id}/identities", summary="List identity links")
async def list_identities(tenant_id: str, pool: PoolDep) -> list[Identity]:
    """Every linked account of the tenant's agents."""
    await _agents_of(pool, tenant_id)
    return [Identity(provider=Provider(r.provider), external_id=r.external_id, agent_id=r.agent_id)
            for r in await projects.list_identities(pool, tenant_id)]
