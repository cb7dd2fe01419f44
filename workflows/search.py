"""Search attributes that let an admin filter runs in the Temporal UI.

Registered by ``switchboard up`` (dev server flags) and, against any other cluster, by the
platform worker at start (``infra.temporal.ensure_search_attributes``).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

TENANT = SearchAttributeKey.for_keyword("SwitchboardTenant")
AGENT = SearchAttributeKey.for_keyword("SwitchboardAgent")
PROJECT = SearchAttributeKey.for_keyword("SwitchboardProject")
EVENT_KIND = SearchAttributeKey.for_keyword("SwitchboardEventKind")
STATUS = SearchAttributeKey.for_keyword("SwitchboardStatus")
SESSION = SearchAttributeKey.for_keyword("SwitchboardSession")  # a session's id
THREAD = SearchAttributeKey.for_keyword("SwitchboardThread")  # a session's thread
# What started a run: manual, schedule, delegation (a run without one came from a webhook)
TRIGGER = SearchAttributeKey.for_keyword("SwitchboardTrigger")

ALL = (TENANT, AGENT, PROJECT, EVENT_KIND, STATUS, SESSION, THREAD, TRIGGER)


def run_attributes(tenant_id: str, agent_id: str, event_kind: str, project_id: str | None,
                   session_id: str | None = None, trigger: str | None = None
                   ) -> TypedSearchAttributes:
    """An AgentRunWorkflow's attributes at its start (a session's turn also names its session;
    a run not started by a webhook, its trigger)."""
    pairs: list[SearchAttributePair[str]] = [
        SearchAttributePair(TENANT, tenant_id), SearchAttributePair(AGENT, agent_id),
        SearchAttributePair(EVENT_KIND, event_kind), SearchAttributePair(STATUS, "running")]
    if trigger is not None:
        pairs.append(SearchAttributePair(TRIGGER, trigger))
    if project_id is not None:
        pairs.append(SearchAttributePair(PROJECT, project_id))
    if session_id is not None:
        pairs.append(SearchAttributePair(SESSION, session_id))
    return TypedSearchAttributes(pairs)
