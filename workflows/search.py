"""Search attributes that let an admin filter runs in the Temporal UI.

Registered by ``switchboard up`` (dev server flags) and, against any other cluster, by the
platform worker at start (``infra.temporal.ensure_search_attributes``).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

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
