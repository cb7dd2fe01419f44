"""The platform process's workers: workflows and pipeline activities on the platform queue, the
kill switch on its own control queue, and the tool gateway's activity on the gateway queue.

The services they use are built by infra/services.py, as in the API. Credentials are read by the
gateway here (runs' tool calls) and in the API (``/gateway/execute``, the agent socket), never by
an agent worker: README, "Tool gateway".
"""

from __future__ import annotations

from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.approvals import ApprovalActivities, ApprovalClicks
from activities.context import ContextActivities
from activities.control import ControlActivities
from activities.delegation import DelegationActivities
from activities.enrich import EnrichActivities
from activities.events import EventActivities
from activities.gateway import GatewayActivities
from activities.governance import GovernanceActivities
from activities.mirror import MirrorActivities
from activities.retention import RetentionActivities
from activities.sessions import SessionActivities
from infra.context import build_summarizer
from infra.directory.resolver import Resolver
from infra.enrichment import Enricher
from infra.gateway.base import Intent
from infra.gateway.readme import ReadmeReader
from infra.gateway.registry import builtin_intents
from infra.gateway.service import Gateway
from infra.retention.settings import RetentionSettings
from infra.services import build_knowledge, build_services
from infra.settings import ContextSettings, Settings
from infra.vault import SecretStore
from workflows.agent_run import AgentRunWorkflow
from workflows.control import ControlWorkflow
from workflows.event import EventWorkflow
from workflows.mirror import MirrorWorkflow
from workflows.presence import PresenceWorkflow
from workflows.readme import ReadmeWorkflow
from workflows.retention import RetentionWorkflow
from workflows.session import SessionWorkflow
from workflows.summarize import SummarizeThreadsWorkflow, SummarizeThreadWorkflow
from workflows.triggered_run import TriggeredRunWorkflow

# Workflows run without the SDK's sandbox. The sandbox checks every activation and every payload
# through a restricted interpreter context, which cost this worker ~35% of its workflow CPU
# (replaying one event's two histories: 17.5 ms sandboxed, 12.1 ms not) on the path to the
# agents. Determinism is kept by rule instead: tests/test_workflow_rules.py (no clock,
# randomness, I/O or settings in workflow modules), the replay tests, and
# tests/test_workflow_sandbox.py, which loads every workflow below under the strict sandbox.
PLATFORM_WORKFLOWS = [EventWorkflow, AgentRunWorkflow, PresenceWorkflow,
                      SummarizeThreadsWorkflow, SummarizeThreadWorkflow, ReadmeWorkflow,
                      SessionWorkflow, MirrorWorkflow, TriggeredRunWorkflow, RetentionWorkflow]
WORKFLOWS = [*PLATFORM_WORKFLOWS, ControlWorkflow]  # the control queue's (control_worker)


def platform_worker(client: Client, pool: asyncpg.Pool, task_queue: str, *,
                    gateway_queue: str,
                    intents: dict[str, Intent[Any]] | None = None,
                    gateway: Gateway | None = None,
                    context: ContextActivities | None = None,
                    retention: RetentionSettings | None = None) -> Worker:
    """A worker for EventWorkflow, AgentRunWorkflow and the pipeline activities."""
    resolver = Resolver(pool, intents if intents is not None else builtin_intents(), gateway_queue)
    governance = GovernanceActivities(pool, gateway)
    control = ControlActivities(pool)
    context = context or context_activities(pool, ContextSettings())
    events = EventActivities(pool, resolver, context, gateway_queue)
    sessions = SessionActivities(pool, client)
    prune = RetentionActivities(pool, retention or RetentionSettings())
    mirror = MirrorActivities(pool, gateway)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=PLATFORM_WORKFLOWS,
        workflow_runner=UnsandboxedWorkflowRunner(),
        activities=[
            events.prepare_event, events.plan_event, events.record_outcome,
            governance.record_usage, governance.raise_alert,
            control.control_gate, control.set_presence,
            context.remember_event, context.threads_to_summarize,
            context.summarize_thread, context.fetch_readme,
            sessions.submit_to_session, sessions.record_session, sessions.record_turn,
            sessions.record_event_outcome, sessions.record_session_step,
            sessions.write_episode, ApprovalClicks(pool).decide_click,
            prune.retention_plan, prune.prune_tenant, prune.prune_revoked,
            mirror.find_mirror, mirror.plan_mirror, mirror.mirror_write,
        ],
    )


def control_worker(client: Client, pool: asyncpg.Pool, task_queue: str) -> Worker:
    """The kill switch's own worker: ControlWorkflow and apply_control on the control queue.

    The API and ``switchboard kill`` apply a change in the database themselves and then record
    it here (signal ``applied``); changes from the Temporal UI or CLI are applied here. On the
    platform queue a UI change would wait behind every event in flight: nothing else is queued
    here. No workflow cache: without one the worker polls no
    sticky queue, so after a crashed worker the first task is not sent to the dead worker's
    sticky queue (10.05 s until it timed out; 23 ms without). Each task replays the history
    instead (about 0.6 ms an event), which stays short: the workflow applies a change as a local
    activity in the task that takes it and continues as new every 5 changes (with an activity
    task, a second workflow task and 500 changes a run: 0.70 s / 1.77 s). apply_control is also
    registered as an activity for runs begun before the local apply.
    """
    return Worker(client, task_queue=task_queue, workflows=[ControlWorkflow],
                  activities=[ControlActivities(pool).apply_control],
                  workflow_runner=UnsandboxedWorkflowRunner(), max_cached_workflows=0)


def context_activities(pool: asyncpg.Pool, settings: ContextSettings) -> ContextActivities:
    """The knowledge store and summarizer as activities (the embedding model loads on use)."""
    embedder, knowledge = build_knowledge(pool, settings)
    return ContextActivities(pool, knowledge, build_summarizer(settings, embedder))


def gateway_worker(client: Client, gateway: Gateway, task_queue: str,
                   enricher: Enricher | None = None) -> Worker:
    """A worker for the gateway_execute activity and, given an enricher, enrich_event (the
    credentials' side of the process: README, "Enrichment")."""
    activities: list[Any] = [GatewayActivities(gateway).gateway_execute,
                             ApprovalActivities(gateway).approval_settle,
                             DelegationActivities(gateway).delegation_plan]
    if enricher is not None:
        activities.append(EnrichActivities(enricher).enrich_event)
    return Worker(client, task_queue=task_queue, activities=activities)


def platform_workers(client: Client, pool: asyncpg.Pool, settings: Settings,
                     secrets: SecretStore | None = None) -> list[Worker]:
    """The workers of a platform process (platform, gateway, control), sharing one registry.

    Their services come from infra/services.py (``secrets`` replaces the settings' store).
    """
    services = build_services(settings, pool, secrets=secrets)
    context = ContextActivities(pool, services.knowledge,
                                build_summarizer(settings.context, services.embedder),
                                ReadmeReader(pool, services.secrets, settings.gateway))
    return [
        platform_worker(client, pool, settings.temporal.task_queue, intents=services.intents,
                        gateway_queue=settings.gateway.task_queue, gateway=services.gateway,
                        context=context, retention=settings.retention),
        gateway_worker(client, services.gateway, settings.gateway.task_queue, services.enricher),
        control_worker(client, pool, settings.temporal.control_task_queue),
    ]
